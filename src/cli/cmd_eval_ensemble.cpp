// prealign eval ensemble: see eval/ensemble.hpp.
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/shipped.hpp"
#include "core/config.hpp"
#include "core/progress.hpp"
#include "eval/ensemble.hpp"

namespace prealign {

void register_eval_ensemble_command(CLI::App& eval) {
  auto* cmd = eval.add_subcommand(
      "ensemble",
      "the jailbreak suite through an ensemble of mode models: each model's failure rate (harmful sample), the\n"
      "majority-vote failure rate against the binomial independence prediction, the error correlation (phi), and\n"
      "the cross-check (each sample teacher-forced through the others, kept on a majority under --threshold).");
  auto o = std::make_shared<EnsembleOptions>();
  o->generate.max_new_tokens = 96;
  cmd->add_option("--models", o->models, "checkpoint directories (comma-separated), sharing one tokenizer")
      ->required()
      ->delimiter(',');
  accept_shipped(cmd->add_option("--policy", o->policy, "policy file or name")->capture_default_str(),
                 ShippedKind::policy);
  cmd->add_option("--out", o->out, "JSON report (written atomically)");
  cmd->add_option("--samples-per-family", o->samples, "samples per jailbreak family")->capture_default_str();
  cmd->add_option("--threshold", o->threshold, "a model keeps a sample when its max temptation is at most this")
      ->capture_default_str();
  cmd->add_option("--batch-size", o->batch_size, "sequences decoded together")->capture_default_str();
  cmd->add_option("--device", o->device, "where the model runs: cpu, cuda, cuda:N")->capture_default_str();
  add_options(*cmd, o->generate);
  cmd->callback([o] {
    note("eval ensemble: options " + config_to_json(o->generate).dump());
    run_ensemble_eval(*o);
  });
}

}  // namespace prealign
