// prealign tasks make: procedurally generated tasks with a verifier each
// (src/tasks/, docs/tasks.md). `tasks verify` is cmd_tasks_verify.cpp.
#include <cstdio>
#include <map>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "core/config.hpp"
#include "core/progress.hpp"
#include "tasks/make.hpp"

namespace prealign {

void register_tasks_verify_command(CLI::App& tasks);
void register_tasks_pairs_command(CLI::App& tasks);  // cmd_tasks_pairs.cpp: SFT pairs from tasks

namespace {

struct MakeArgs {
  MakeOptions options;
  std::string out;
};

void run_tasks_make(MakeArgs& a) {
  note("tasks make: options " + config_to_json(a.options).dump());
  const std::vector<TaskRecord> tasks = make_tasks(a.options);
  write_tasks(a.out, tasks);
  std::map<std::string, std::pair<size_t, size_t>> counts;  // family -> (train, test)
  for (const auto& t : tasks) (t.split == "test" ? counts[t.family].second : counts[t.family].first)++;
  for (const auto& [family, c] : counts)
    std::printf("%-24s train %5zu  test %5zu\n", family.c_str(), c.first, c.second);
  std::printf("tasks make: %zu tasks -> %s\n", tasks.size(), a.out.c_str());
}

}  // namespace

void register_tasks_command(CLI::App& app) {
  auto* tasks = app.add_subcommand("tasks", "verifiable tasks (seed 002): generate task files, score completions");
  tasks->require_subcommand(1);

  auto* make = tasks->add_subcommand(
      "make",
      "generate task families, each record with its verifier spec (JSONL: id, family, split, prompt, verifier;\n"
      "docs/tasks.md). Families: arithmetic, strings, python (hidden unit tests, run sandboxed), pep8-lines and\n"
      "masked-span (cut from --corpus), system-lowercase, system-forbidden-word, system-max-words,\n"
      "system-refuse-topic, system-json, system-prefix (kind system-rules: a rule in the system prompt).\n"
      "Deterministic given --seed; a record's split never depends on --n.");
  auto a = std::make_shared<MakeArgs>();
  add_options(*make, a->options);
  make->get_option("--held-out-families")->delimiter(',');
  make->get_option("--corpus")->delimiter(',');
  make->add_option("-o,--out", a->out, "tasks JSONL to write (atomically)")->required();
  make->callback([a] { run_tasks_make(*a); });

  register_tasks_verify_command(*tasks);
  register_tasks_pairs_command(*tasks);
}

}  // namespace prealign
