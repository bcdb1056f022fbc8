// prealign eval tasks: K samples per verifiable task under the checkpoint's tag
// policy (and a seed prompt), verified as `tasks verify` does; task accuracy,
// rule adherence, correctness and format per family with Wilson 95% intervals
// and the samples' temptation (src/rl/task_eval.hpp, docs/eval.md).
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/shipped.hpp"
#include "rl/task_eval.hpp"

namespace prealign {

void register_eval_tasks_command(CLI::App& eval) {
  auto* cmd = eval.add_subcommand(
      "tasks",
      "sample each task of a tasks file K times under the checkpoint's policy (the task asked as fine-tuning and\n"
      "RLVR ask it, after an optional seed prompt), verify the samples, report per family task accuracy, rule\n"
      "adherence, correct and format rates with Wilson 95% intervals, and temptation. The completions file\n"
      "is in the `tasks verify` format.");
  auto o = std::make_shared<TaskEvalOptions>();
  add_options(*cmd, o->sampling);
  cmd->get_option("--model")->required();
  cmd->get_option("--tasks")->required();
  cmd->add_option("-o,--out", o->out, "report JSON")->capture_default_str();
  accept_shipped(*cmd, "--policy", ShippedKind::policy, {"none"});
  cmd->callback([o] {
    const ordered_json report = run_task_eval(*o);
    std::printf("%s", format_task_eval(report).c_str());
    std::printf("eval tasks: %zu samples of %zu tasks -> %s, completions %s\n",
                report.at("samples").get<size_t>(), report.at("tasks").get<size_t>(), o->out.c_str(),
                report.at("completions_file").get<std::string>().c_str());
  });
}

}  // namespace prealign
