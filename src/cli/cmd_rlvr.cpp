// prealign rlvr: a checkpoint + verifiable tasks -> a checkpoint trained with
// GRPO under its own tag policy (docs/rlvr.md).
#include <set>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "core/config.hpp"
#include "core/progress.hpp"
#include "rl/rlvr_trainer.hpp"

namespace prealign {

void register_rlvr_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "rlvr",
      "reinforcement learning from verifiable rewards (GRPO) under the checkpoint's tag policy: per step P tasks,\n"
      "G samples each decoded under the policy, rewards from the task verifiers, group-normalised advantages,\n"
      "clipped ratio + KL to the starting model. Asks every task after --seed-prompt. docs/rlvr.md.");
  auto options = std::make_shared<RlvrOptions>();
  add_options(*cmd, *options);
  cmd->callback([cmd, options] {
    const std::set<std::string> given = given_fields(*cmd);
    note("rlvr: options " + config_to_json(*options).dump());
    const RlvrResult r = rlvr(*options, given);
    const RlvrStepMetrics last = r.steps.empty() ? RlvrStepMetrics{} : r.steps.back();
    std::printf("step %lld | reward %.3f | accuracy %.3f | kl %.4f | %s tok/s\ncheckpoint: %s\n",
                static_cast<long long>(r.step), last.reward, last.accuracy, last.kl,
                human_count(last.tokens_per_second).c_str(), r.checkpoint.c_str());
  });
}

}  // namespace prealign
