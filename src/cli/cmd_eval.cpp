// prealign eval: the group of evaluations. Each one lives in its own
// cmd_eval_<name>.cpp and is listed here.
#include "cli/commands.hpp"

namespace prealign {

void register_eval_commands(CLI::App& eval) {
  (void)eval;  // evaluations add a register_eval_<name>_command(eval) call here
  register_eval_misalignment_command(eval);
  register_eval_loss_command(eval);
  register_eval_tag_agreement_command(eval);
  register_eval_redteam_command(eval);
  register_eval_compare_command(eval);
  register_eval_prompts_command(eval);
}

}  // namespace prealign
