// prealign eval loss: held-out loss and perplexity with tag tokens excluded (src/eval/heldout_eval.hpp, docs/eval.md).
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "eval/heldout_eval.hpp"

namespace prealign {

void register_eval_loss_command(CLI::App& eval) {
  auto* cmd = eval.add_subcommand("loss", "held-out loss and perplexity with tag tokens excluded");
  auto options = std::make_shared<LossEvalOptions>();
  add_options(*cmd, *options);
  cmd->callback([options] { run_loss_eval(*options); });
}

}  // namespace prealign
