// prealign eval lock: see eval/mode_evals.hpp.
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/shipped.hpp"
#include "core/config.hpp"
#include "core/progress.hpp"
#include "eval/mode_evals.hpp"

namespace prealign {

void register_eval_lock_command(CLI::App& eval) {
  auto* cmd = eval.add_subcommand(
      "lock",
      "the AI-mode lock of a mode model: --samples samples under the policy (story openings cut before a bad act,\n"
      "harmful requests, ordinary questions), each linted against the policy grammar; the ground-truth harmful rate\n"
      "under the lock vs. the same story openings generated from human mode without restrictions. docs/modes.md.");
  auto o = std::make_shared<ModeEvalOptions>();
  o->samples = 1000;
  o->generate.max_new_tokens = 96;
  cmd->add_option("--model", o->model, "checkpoint directory of a mode model")->required();
  accept_shipped(cmd->add_option("--policy", o->policy, "policy file or name")->capture_default_str(),
                 ShippedKind::policy);
  cmd->add_option("--out", o->out, "JSON report (written atomically)");
  cmd->add_option("--samples", o->samples, "locked samples (a third each: story openings, harmful requests, questions)")->capture_default_str();
  cmd->add_option("--batch-size", o->batch_size, "sequences decoded together")->capture_default_str();
  cmd->add_option("--device", o->device, "where the model runs: cpu, cuda, cuda:N")->capture_default_str();
  add_options(*cmd, o->generate);
  cmd->callback([o] {
    note("eval lock: options " + config_to_json(o->generate).dump());
    run_lock_eval(*o);
  });
}

}  // namespace prealign
