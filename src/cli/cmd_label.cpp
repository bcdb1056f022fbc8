// prealign label: scored JSONL -> tags (the Labeler training uses), with the
// histogram of each rule's scores and the tag counts; optionally the tagged corpus.
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "core/config.hpp"
#include "core/progress.hpp"
#include "score/label_run.hpp"

namespace prealign {

namespace {

struct LabelArgs {
  std::vector<std::string> inputs, rules, context;
  std::string config;
  double drop_fraction = -1;
  long long seed = -1;
  LabelRunOptions options;
};

// The labeling config: --config (if any), then --rule/--context add to it and
// --drop-fraction/--seed override it.
LabelingConfig labeling_config(const LabelArgs& a) {
  LabelingConfig c;
  if (!a.config.empty()) c = LabelingConfig::from_json(read_json_file(a.config), a.config);
  for (const auto& r : a.rules) c.rules.push_back(parse_rule_spec(r));
  for (const auto& x : a.context) c.context.push_back(parse_context_spec(x));
  if (a.drop_fraction >= 0) c.drop_fraction = a.drop_fraction;
  if (a.seed >= 0) c.seed = static_cast<uint64_t>(a.seed);
  if (c.rules.empty() && c.context.empty() && c.bands.empty())
    fail("--rule", "no labeling rule, context tag or band given", "e.g. --rule pii:0 --rule pep8:p90, or --config");
  if (c.drop_fraction > 1) fail("--drop-fraction", "must be within [0, 1]");
  return c;
}

void run_label_command(const LabelArgs& a) {
  const LabelingConfig config = labeling_config(a);
  note("label: labeling " + config.to_json().dump());
  const LabelReport report = run_label(a.inputs, config, a.options);
  std::printf("%s", format_label_report(report).c_str());
  if (!report.first_errors.empty()) {
    std::printf("first skipped records:\n");
    for (const auto& e : report.first_errors) std::printf("  %s\n", e.c_str());
  }
  if (!a.options.report.empty()) write_json_file(a.options.report, report.to_json());
  if (!a.options.out.empty()) note("label: wrote " + a.options.out);
}

}  // namespace

void register_label_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "label",
      "turn segment scores into tags with the labeling training applies at batch time: per category an\n"
      "absolute threshold or a corpus percentile (bad if score > threshold), a fraction of segments left\n"
      "untagged, document context tags from metadata fields. Prints each category's score histogram and\n"
      "the tag counts; -o writes the corpus with its tags. docs/scoring.md \"Labeling\".");
  auto a = std::make_shared<LabelArgs>();
  cmd->add_option("inputs", a->inputs, "scored JSONL files (prealign score)")->required();
  cmd->add_option("--rule", a->rules,
                  "category:threshold[:good_tag:bad_tag], repeatable, e.g. pii:0, pep8:p90 (percentile)");
  cmd->add_option("--context", a->context, "field=value:tag, repeatable, e.g. genre=fiction:<fiction>");
  cmd->add_option("--config", a->config, "labeling config JSON {rules, context, drop_fraction, seed}");
  cmd->add_option("--drop-fraction", a->drop_fraction, "fraction of segments left untagged (default 0)");
  cmd->add_option("--seed", a->seed, "seed of the untagged-segment choice (default 0)");
  cmd->add_option("-o,--out", a->options.out, "write the labeled corpus (segments with tags) here");
  add_options(*cmd, a->options);
  cmd->callback([a] { run_label_command(*a); });
}

}  // namespace prealign
