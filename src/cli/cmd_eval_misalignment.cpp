// prealign eval misalignment: sample a checkpoint under a policy, score the samples, report mean / expected max / fraction over threshold with bootstrap CIs (src/eval/misalignment.hpp, docs/eval.md).
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/shipped.hpp"
#include "eval/misalignment.hpp"

namespace prealign {

void register_eval_misalignment_command(CLI::App& eval) {
  auto* cmd = eval.add_subcommand("misalignment", "sample a checkpoint under a policy, score the samples, report mean / expected max / fraction over threshold with bootstrap CIs");
  auto options = std::make_shared<MisalignmentOptions>();
  add_options(*cmd, *options);
  accept_shipped(*cmd, "--policy", ShippedKind::policy, {"none"});
  accept_shipped(*cmd, "--score-config", ShippedKind::score_config);
  cmd->callback([options] { run_misalignment(*options); });
}

}  // namespace prealign
