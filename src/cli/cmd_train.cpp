// prealign train: dataset + objective -> checkpoint; --objective sft:
// (prompt, response) pairs + seed prompt + checkpoint -> fine-tuned checkpoint.
#include <set>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/shipped.hpp"
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/progress.hpp"
#include "dist/dist_env.hpp"
#include "rl/sft_report.hpp"
#include "rl/sft_trainer.hpp"
#include "train/trainer.hpp"

namespace prealign {
namespace {

void run_sft(const TrainOptions& options, const SftOptions& sft, const std::set<std::string>& given) {
  note("train: options " + config_to_json(const_cast<TrainOptions&>(options)).dump() + " sft " +
       config_to_json(const_cast<SftOptions&>(sft)).dump());
  SftResult r = train_sft(options, sft, given);
  std::printf("step %lld | train loss %.4f", static_cast<long long>(r.step), r.final_loss);
  if (!r.report.empty() && r.report_json.contains("heldout_response_loss"))
    std::printf(" | held-out response loss %.4f -> %.4f", r.heldout_before, r.heldout_after);
  std::printf("\ncheckpoint: %s\n", r.checkpoint.c_str());
  if (r.report_json.contains("light_touch")) std::printf("%s\n", describe_light_touch(r.report_json["light_touch"]).c_str());
  if (!r.report.empty()) std::printf("report: %s\n", r.report.c_str());
}

}  // namespace

void register_train_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "train", "train a model on a tokenized dataset with an objective (mle, conditional, ...), or fine-tune a\n"
               "checkpoint on (prompt, response) pairs after a seed prompt (--objective sft; docs/sft.md)");
  auto options = std::make_shared<TrainOptions>();
  auto sft = std::make_shared<SftOptions>();
  add_options(*cmd, *options);
  add_options(*cmd, *sft);
  // sft is not a batch-time objective (train/objective.hpp) but its own loop: said here, where the flags are
  cmd->get_option("--objective")->description("mle | conditional | filter | unlikelihood | rwr | awr | sft (fine-tune a "
                                              "checkpoint on (prompt, response) pairs; docs/sft.md)");
  cmd->get_option("--data")->description("dataset directory written by prealign tokenize, or a weighted mix: "
                                         "a=0.9,b=0.1; with --objective sft: a PAIRS.jsonl");
  accept_shipped(*cmd, "--policy", ShippedKind::policy);
  accept_model_spec(cmd->get_option("--model"));
  cmd->callback([cmd, options, sft] {
    const std::set<std::string> given = given_fields(*cmd);
    if (options->objective.name == "sft") return run_sft(*options, *sft, given);
    for (const char* field : {"seed_prompt", "eval_data", "eval_fraction", "kl_data", "kl_sequences", "drift_tokens",
                              "drift_prompts"})
      if (given.count(field)) fail(flag_name(field), "is a flag of --objective sft only");
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
