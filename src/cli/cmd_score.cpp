// prealign score: corpus -> scored JSONL (segments with one score per category).
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/shipped.hpp"
#include "core/config.hpp"
#include "core/paths.hpp"
#include "core/progress.hpp"
#include "score/pipeline.hpp"

namespace prealign {

namespace {

struct ScoreArgs {
  std::vector<std::string> inputs;
  std::string config;
  ScoreRunOptions options;
};

void run_score_command(const ScoreArgs& a) {
  if (a.options.quiet) set_quiet(true);
  const std::string config_path = resolve_config(a.config, kScoreConfigFolder);
  const ScoreConfig config = ScoreConfig::from_json(read_json_file(config_path), config_path);
  ScoreRunOptions shown = a.options;
  note("score: config " + config_path + " " + config.to_json().dump());
  note("score: options " + config_to_json(shown).dump());

  const ScoreSummary summary = run_score(a.inputs, config, a.options);

  if (!a.options.summary.empty()) write_json_file(a.options.summary, summary.to_json());
  std::fprintf(stderr, "%s", format_score_summary(summary).c_str());
  if (a.options.out != "-") std::fprintf(stderr, "scored: %s\n", a.options.out.c_str());
}

}  // namespace

void register_score_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "score",
      "segment and score a corpus with the scorers of a score config, writing scored JSONL\n"
      "({\"id\", \"text\", \"segments\": [{\"start\", \"end\", \"scores\": {category: x}}]}) for tokenize and label.\n"
      "Inputs: JSONL (.jsonl/.jsonl.gz), text files, directories (with --glob). Scorers and config: docs/scoring.md.");
  auto a = std::make_shared<ScoreArgs>();
  cmd->add_option("inputs", a->inputs, "JSONL files, text files or directories")->required();
  accept_shipped(cmd->add_option("--config", a->config, "score config file or name")->required(),
                 ShippedKind::score_config);
  cmd->add_option("-o,--out", a->options.out, "scored JSONL to write (atomically; '-' = stdout)")->required();
  add_options(*cmd, a->options);
  cmd->callback([a] { run_score_command(*a); });
}

}  // namespace prealign
