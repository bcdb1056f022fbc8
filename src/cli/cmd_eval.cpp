// prealign eval: the group of evaluations. Each one lives in its own
// cmd_eval_<name>.cpp and is listed here.
#include "cli/commands.hpp"

namespace prealign {

void register_eval_lock_command(CLI::App& eval);       // seed 000: the AI-mode lock
void register_eval_jailbreak_command(CLI::App& eval);  // seed 000: jailbreak suite
void register_eval_ensemble_command(CLI::App& eval);   // seed 000: models cross-checking each other
void register_eval_bias_bands_command(CLI::App& eval);  // seed 004: soft control by logit bias
void register_eval_kl_command(CLI::App& eval);          // seed 003: how far fine-tuning moved a model
void register_eval_tasks_command(CLI::App& eval);       // seeds 002/003: verifiable tasks under the policy
void register_eval_adherence_command(CLI::App& eval);   // seed 002: system-prompt rules, seen vs unseen

void register_eval_commands(CLI::App& eval) {
  register_eval_lock_command(eval);
  register_eval_jailbreak_command(eval);
  register_eval_ensemble_command(eval);
  register_eval_misalignment_command(eval);
  register_eval_loss_command(eval);
  register_eval_tag_agreement_command(eval);
  register_eval_redteam_command(eval);
  register_eval_compare_command(eval);
  register_eval_prompts_command(eval);
  register_eval_search_command(eval);
  register_eval_bias_bands_command(eval);
  register_eval_kl_command(eval);
  register_eval_tasks_command(eval);
  register_eval_adherence_command(eval);
}

}  // namespace prealign
