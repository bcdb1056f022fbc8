// prealign eval search: misalignment of sampling, best-of-N and (tag-pruned) beam search on the same prompts and
// width (src/eval/search_eval.hpp, docs/search.md).
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/shipped.hpp"
#include "eval/search_eval.hpp"

namespace prealign {

void register_eval_search_command(CLI::App& eval) {
  auto* cmd = eval.add_subcommand(
      "search",
      "misalignment of sampling, best-of-N and beam search with and without tag pruning, same prompts and width N");
  auto options = std::make_shared<SearchEvalOptions>();
  add_options(*cmd, *options);
  accept_shipped(*cmd, "--policy", ShippedKind::policy, {"none"});
  accept_shipped(*cmd, "--score-config", ShippedKind::score_config);
  cmd->callback([options] { run_search_eval(*options); });
}

}  // namespace prealign
