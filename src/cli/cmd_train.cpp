// prealign train: dataset + objective -> checkpoint.
#include <set>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/shipped.hpp"
#include "core/config.hpp"
#include "core/progress.hpp"
#include "dist/dist_env.hpp"
#include "train/trainer.hpp"

namespace prealign {

void register_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("train", "train a model on a tokenized dataset with an objective (mle, conditional, ...)");
  auto options = std::make_shared<TrainOptions>();
  add_options(*cmd, *options);
  accept_shipped(*cmd, "--policy", ShippedKind::policy);
  accept_model_spec(cmd->get_option("--model"));
  cmd->callback([cmd, options] {
    const std::set<std::string> given = given_fields(*cmd);
    const bool main_rank = DistEnv::from_environment().is_main();  // one rank speaks for a data-parallel run
    if (main_rank) note("train: options " + config_to_json(*options).dump());
    TrainResult r = train(*options, &given);
    if (main_rank)
      std::printf("step %lld | tokens %s | train loss %.4f | val loss %.4f | %s tok/s | mfu %.1f%%\ncheckpoint: %s\n",
                  static_cast<long long>(r.step), human_count(double(r.tokens)).c_str(), r.final_loss, r.val_loss,
                  human_count(r.tokens_per_second).c_str(), 100 * r.mfu, r.checkpoint.c_str());
  });
}

}  // namespace prealign
