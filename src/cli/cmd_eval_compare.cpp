// prealign eval compare: one table and two plots across runs (src/eval/compare.hpp, docs/eval.md).
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/shipped.hpp"
#include "eval/compare.hpp"

namespace prealign {

void register_eval_compare_command(CLI::App& eval) {
  auto* cmd = eval.add_subcommand("compare", "one Markdown/JSON table and SVG plots across run directories (<run>/eval/*.json)");
  auto options = std::make_shared<CompareOptions>();
  cmd->add_option("runs", options->runs, "run directories")->required();
  add_options(*cmd, *options);
  list_shipped(cmd->get_option("--score-config"), ShippedKind::score_config);  // a label: reports record it
  cmd->callback([options] { run_compare(*options); });
}

}  // namespace prealign
