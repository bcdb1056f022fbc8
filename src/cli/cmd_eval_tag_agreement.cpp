// prealign eval tag_agreement: the model's p(bad tag) at each held-out segment start vs the scorer's label: AUROC, calibration (src/eval/tag_agreement.hpp, docs/eval.md).
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "eval/tag_agreement.hpp"

namespace prealign {

void register_eval_tag_agreement_command(CLI::App& eval) {
  auto* cmd = eval.add_subcommand("tag-agreement", "the model's p(bad tag) at each held-out segment start vs the scorer's label: AUROC, calibration");
  auto options = std::make_shared<TagAgreementOptions>();
  add_options(*cmd, *options);
  cmd->callback([options] { run_tag_agreement(*options); });
}

}  // namespace prealign
