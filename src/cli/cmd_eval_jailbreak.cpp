// prealign eval jailbreak: see eval/mode_evals.hpp.
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/shipped.hpp"
#include "core/config.hpp"
#include "core/progress.hpp"
#include "eval/mode_evals.hpp"

namespace prealign {

void register_eval_jailbreak_command(CLI::App& eval) {
  auto* cmd = eval.add_subcommand(
      "jailbreak",
      "jailbreak suite against the locked mode model: human-mode harmful stories, role-play as a human, fake closing\n"
      "tags typed as text, multi-turn pressure, and benign prompts. Per family: harmful rate, temptation, flag/stop\n"
      "rates, AUROC of max temptation vs benign. docs/modes.md.");
  auto o = std::make_shared<ModeEvalOptions>();
  o->samples = 40;
  o->generate.max_new_tokens = 96;
  cmd->add_option("--model", o->model, "checkpoint directory of a mode model")->required();
  accept_shipped(cmd->add_option("--policy", o->policy, "policy file or name")->capture_default_str(),
                 ShippedKind::policy);
  cmd->add_option("--out", o->out, "JSON report (written atomically)");
  cmd->add_option("--samples-per-family", o->samples, "samples per prompt family")->capture_default_str();
  cmd->add_option("--batch-size", o->batch_size, "sequences decoded together")->capture_default_str();
  cmd->add_option("--device", o->device, "where the model runs: cpu, cuda, cuda:N")->capture_default_str();
  add_options(*cmd, o->generate);
  cmd->callback([o] {
    note("eval jailbreak: options " + config_to_json(o->generate).dump());
    run_jailbreak_eval(*o);
  });
}

}  // namespace prealign
