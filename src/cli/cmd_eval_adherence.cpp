// prealign eval adherence: the system-rule tasks of a tasks file sampled and
// verified as `eval tasks` does; per rule family the rate of samples keeping
// the system prompt's rule, seen vs unseen families pooled, and their
// difference with Newcombe's interval (src/rl/adherence.hpp, docs/eval.md).
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/shipped.hpp"
#include "rl/adherence.hpp"

namespace prealign {

void register_eval_adherence_command(CLI::App& eval) {
  auto* cmd = eval.add_subcommand(
      "adherence",
      "seed 002's target, following the system prompt: sample the system-rule tasks (tasks make --kind\n"
      "system-rules) under the checkpoint's policy, and report per rule family how often the samples keep\n"
      "the rule (Wilson 95%), grouped into seen families (train records in the tasks file, or\n"
      "--trained-families) and unseen ones, with the pooled seen - unseen difference (Newcombe 95%).");
  auto o = std::make_shared<AdherenceOptions>();
  add_options(*cmd, o->sampling);
  cmd->get_option("--model")->required();
  cmd->get_option("--tasks")->required();
  cmd->add_option("--trained-families", o->trained_families,
                  "comma-separated rule families the model was trained on, besides those with train records in the tasks file");
  cmd->add_option("-o,--out", o->out, "report JSON")->capture_default_str();
  accept_shipped(*cmd, "--policy", ShippedKind::policy, {"none"});
  cmd->callback([o] {
    const ordered_json report = run_adherence(*o);
    std::printf("%s", format_adherence(report).c_str());
    std::printf("eval adherence: %zu samples of %zu system-rule tasks -> %s, completions %s\n",
                report.at("samples").get<size_t>(), report.at("tasks").get<size_t>(), o->out.c_str(),
                report.at("completions_file").get<std::string>().c_str());
  });
}

}  // namespace prealign
