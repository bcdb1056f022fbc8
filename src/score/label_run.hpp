// `prealign label`: scored JSONL -> tags, with the Labeler that training uses
// at batch time (score/labeling.hpp), a histogram of the scores of every rule's
// category, and the counts of the tags it would put in the corpus. Optionally
// writes the corpus with its tags (docs/formats.md "Labeled JSONL").
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/json_io.hpp"
#include "score/labeling.hpp"

namespace prealign {

struct LabelRunOptions {
  std::string out;          // labeled JSONL to write ("" = report only); flag -o, --out
  std::string report;       // also write the report as JSON here
  std::string save_config;  // write the labeling config with resolved thresholds here
  std::string text_field = "text";
  std::string id_field = "id";
  bool skip_bad = false;

  template <class V>
  void visit(V& v) {
    v("report", report, "also write the report (histograms, tag counts, thresholds) as JSON to this file");
    v("save_config", save_config, "write the labeling config with percentiles resolved to this file");
    v("text_field", text_field, "JSONL field holding the text");
    v("id_field", id_field, "JSONL field holding the document id");
    v("skip_bad", skip_bad, "skip and count bad records instead of stopping");
  }
};

// Scores of one rule's category over the corpus.
struct ScoreHistogram {
  std::string category;
  uint64_t segments = 0, zeros = 0;
  double mean = 0, max = 0;
  std::map<int, uint64_t> decades;                   // floor(log10(score)) -> segments with a positive score there
  std::vector<std::pair<double, double>> quantiles;  // (q in %, value): 50, 90, 95, 99, 99.9
};

struct LabelReport {
  uint64_t documents = 0, segments = 0, bad_segments = 0, dropped_segments = 0, skipped = 0;
  std::vector<std::string> categories;                // of the corpus
  std::vector<ScoreHistogram> histograms;             // one per rule, in rule order
  std::map<std::string, uint64_t> tag_segments;       // segment tag -> segments carrying it
  std::map<std::string, uint64_t> context_documents;  // context tag -> documents carrying it
  ordered_json labeling;                              // the rules with resolved thresholds
  std::vector<std::string> first_errors;
  ordered_json to_json() const;
};

// Reads the corpus once (twice with options.out), fits percentile thresholds,
// labels every segment. Documents must all be scored in the same categories.
LabelReport run_label(const std::vector<std::string>& inputs, const LabelingConfig& config,
                      const LabelRunOptions& options);
std::string format_label_report(const LabelReport& report);

// Command-line specs: "pii:p99" or "pii:0.01:<|pii_ok|>:<|pii|>" (category:threshold[:good_tag:bad_tag]);
// "genre=fiction:<fiction>" (field=value:tag).
LabelRule parse_rule_spec(const std::string& spec);
ContextRule parse_context_spec(const std::string& spec);

}  // namespace prealign
