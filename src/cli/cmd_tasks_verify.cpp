// prealign tasks verify: score completions of a tasks file with the verifiers
// the trainer calls (tasks/verifier.hpp), and report accuracy per family.
#include <algorithm>
#include <cstdio>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/progress.hpp"
#include "tasks/report.hpp"

namespace prealign {

namespace {

struct VerifyArgs {
  std::string tasks, completions, out;
  int jobs = 2;
  double format_weight = 0;
  double wall_seconds = 5;
  uint64_t memory_mb = 512;
  bool allow_network = false;
  std::string python = "/usr/bin/python3";
};

void run_tasks_verify(const VerifyArgs& a) {
  const std::vector<TaskRecord> tasks = read_tasks(a.tasks);
  const std::vector<Completion> completions = read_completions(a.completions);
  require(a.wall_seconds > 0 && a.wall_seconds <= 3600, "--wall-seconds", "must be within (0, 3600]");
  require(a.memory_mb >= 64 && a.memory_mb <= (uint64_t(1) << 20), "--memory-mb", "must be within [64, 1048576]",
          "Python itself needs some tens of MiB");
  require(a.jobs >= 1 && a.jobs <= 64, "--jobs", "must be within [1, 64]");
  VerifierOptions o;
  o.format_weight = a.format_weight;
  o.sandbox.wall_seconds = a.wall_seconds;
  o.sandbox.memory_bytes = a.memory_mb << 20;
  o.sandbox.require_network_isolation = !a.allow_network;
  o.sandbox.python = a.python;
  const bool any_python = std::any_of(tasks.begin(), tasks.end(),
                                      [](const TaskRecord& t) { return t.verifier.at("type") == "python"; });
  if (any_python && !network_isolation_available())
    note(a.allow_network ? "tasks verify: warning: python tasks run WITHOUT network isolation (--allow-network)"
                         : "tasks verify: no network namespace can be made here: python tasks will fail (see --allow-network)");
  const Verifier verifier(o);

  const ordered_json report = verify_completions(tasks, completions, verifier, a.jobs);

  write_json_file(a.out, report);
  std::printf("%s", format_verify_report(report).c_str());
  std::printf("tasks verify: %zu completions of %zu tasks -> %s\n", completions.size(), tasks.size(), a.out.c_str());
}

}  // namespace

void register_tasks_verify_command(CLI::App& tasks) {
  auto* cmd = tasks.add_subcommand(
      "verify",
      "score completions ({\"id\", \"completion\"} JSONL, several per task allowed) against a tasks file: reward,\n"
      "correctness, rule and format per completion, accuracy with Wilson 95% intervals per family and split.\n"
      "Answer extraction and the python sandbox: docs/tasks.md.");
  auto a = std::make_shared<VerifyArgs>();
  cmd->add_option("--tasks", a->tasks, "tasks JSONL (prealign tasks make)")->required();
  cmd->add_option("--completions", a->completions, "completions JSONL: {\"id\": task id, \"completion\": text}")->required();
  cmd->add_option("-o,--out", a->out, "report JSON to write (atomically)")->required();
  cmd->add_option("--jobs", a->jobs, "completions verified at once (python tasks run one sandbox each)")->capture_default_str();
  cmd->add_option("--format-weight", a->format_weight,
                  "reward lost by a correct completion without the requested format (0: format not scored)")->capture_default_str();
  cmd->add_option("--wall-seconds", a->wall_seconds, "python sandbox: wall-time limit per run")->capture_default_str();
  cmd->add_option("--memory-mb", a->memory_mb, "python sandbox: address-space limit")->capture_default_str();
  cmd->add_flag("--allow-network", a->allow_network,
                "python sandbox: run even where no network namespace can be made (the code may reach the network)");
  cmd->add_option("--python", a->python, "python sandbox: the interpreter")->capture_default_str();
  cmd->callback([a] { run_tasks_verify(*a); });
}

}  // namespace prealign
