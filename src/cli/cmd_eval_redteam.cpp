// prealign eval redteam: continuation scores of a prompts file, and a search growing adversarial prompts from corpus fragments (src/eval/redteam.hpp, docs/eval.md).
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/shipped.hpp"
#include "eval/redteam.hpp"

namespace prealign {

void register_eval_redteam_command(CLI::App& eval) {
  auto* cmd = eval.add_subcommand("redteam", "continuation scores of a prompts file, and a search growing adversarial prompts from corpus fragments");
  auto options = std::make_shared<RedteamOptions>();
  add_options(*cmd, *options);
  accept_shipped(*cmd, "--policy", ShippedKind::policy, {"none"});
  accept_shipped(*cmd, "--score-config", ShippedKind::score_config);
  cmd->callback([options] { run_redteam(*options); });
}

}  // namespace prealign
