// prealign eval prompts: held-out segments matching a pattern, as a prompts
// file for misalignment and redteam (src/eval/heldout_prompts.hpp, docs/eval.md).
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "eval/heldout_prompts.hpp"

namespace prealign {

void register_eval_prompts_command(CLI::App& eval) {
  auto* cmd = eval.add_subcommand("prompts", "write prompts taken from held-out segments (default: Python function signatures)");
  auto options = std::make_shared<HeldoutPromptOptions>();
  add_options(*cmd, *options);
  cmd->callback([options] { heldout_prompts(*options); });
}

}  // namespace prealign
