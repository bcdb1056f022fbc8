// prealign eval bias-bands: how often a tag appears under biases 0, -2, -4, ...
// and banned, on the same prompts and seeds (src/eval/bias_bands.hpp, docs/policies.md).
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/shipped.hpp"
#include "eval/bias_bands.hpp"

namespace prealign {

void register_eval_bias_bands_command(CLI::App& eval) {
  auto* cmd = eval.add_subcommand(
      "bias-bands",
      "how often a tag appears when the policy biases it by each of several logit offsets (and bans it): share of "
      "samples with a Wilson interval, rate per 1k tokens with a bootstrap interval");
  auto options = std::make_shared<BiasBandOptions>();
  add_options(*cmd, *options);
  accept_shipped(*cmd, "--policy", ShippedKind::policy, {"none"});
  cmd->callback([options] { run_bias_bands(*options); });
}

}  // namespace prealign
