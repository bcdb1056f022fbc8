// The command tree, in the order `prealign --help` lists it. One list, used by
// main() and by the tests that walk every command's --help.
#include "cli/commands.hpp"

namespace prealign {

void register_tasks_command(CLI::App& app);  // tasks make|verify: verifiable tasks (seed 002), cmd_tasks.cpp
void register_rlvr_command(CLI::App& app);   // GRPO from verifiable rewards under the tag policy, cmd_rlvr.cpp

void register_commands(CLI::App& app) {
  register_tokenizer_command(app);
  register_tokenize_command(app);
  register_dataset_command(app);
  register_train_command(app);
  register_launch_command(app);
  register_generate_command(app);
  register_demo_command(app);
  register_serve_command(app);
  register_score_command(app);
  register_label_command(app);
  register_classifier_command(app);
  register_lint_command(app);
  register_synth_command(app);
  register_probe_command(app);
  register_import_command(app);
  register_export_command(app);
  register_tasks_command(app);
  register_rlvr_command(app);
  // `prealign eval <what>`: each evaluation registers itself on this group.
  auto* eval = app.add_subcommand("eval", "measure models: misalignment, held-out loss, red-team, tag agreement, ...");
  eval->require_subcommand(1);
  register_eval_commands(*eval);
}

}  // namespace prealign
