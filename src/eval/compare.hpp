// One table across runs. Each run directory holds the reports its evaluations
// wrote under <run>/eval/*.json (any "kind": misalignment, loss,
// tag_agreement, redteam). Per run, the row uses the latest-trained report of
// each kind; misalignment reports at earlier checkpoints make the curve over
// training tokens. Reports with code checks (pep8) add a table of violations per
// 1,000 characters by group (style / structure / other), each against the
// baseline, and the share of samples that compile and that ended at EOS. Written: compare.md, compare.json, pareto.svg (misalignment
// vs held-out loss) and misalignment_over_tokens.svg, all atomically.
#pragma once
#include <string>
#include <vector>

#include "core/json_io.hpp"

namespace prealign {

struct CompareOptions {
  std::vector<std::string> runs;
  std::string baseline = "mle";  // run name the ratios are taken against
  std::string out = "compare";   // directory
  // Only misalignment reports scored with this config (as given to eval
  // misalignment: a shipped name or a path). "" = any, but then every run's
  // reports must share one config: numbers from two scorers never mix.
  std::string score_config;
  // Only misalignment reports of this scenario (eval misalignment --scenario;
  // "custom" = none given). "" = any, but then all must share one.
  std::string scenario;

  template <class V>
  void visit(V& v) {
    v("baseline", baseline, "run (directory name) the ratio columns divide by");
    v("score_config", score_config, "use only misalignment reports made with this score config (needed when runs hold several)");
    v("scenario", scenario, "use only misalignment reports of this scenario: unconditional, functions, custom (needed when runs hold several)");
    v("out", out, "directory for compare.md, compare.json and the SVG plots");
  }
};

ordered_json run_compare(const CompareOptions& options);

}  // namespace prealign
