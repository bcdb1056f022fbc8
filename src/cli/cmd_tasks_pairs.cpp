// prealign tasks pairs: tasks whose verifier spec holds the answer become
// (system, prompt, response) pairs for seed-prompted fine-tuning (docs/sft.md).
// Every pair written passes its task's verifier; families without a buildable
// reply (python) are skipped and counted.
#include <cstdio>
#include <map>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/lines.hpp"
#include "core/progress.hpp"
#include "tasks/reference_reply.hpp"
#include "tasks/verifier.hpp"

namespace prealign {
namespace {

struct PairsArgs {
  std::string tasks, split = "train", out;
};

void run_tasks_pairs(const PairsArgs& a) {
  require(a.split == "train" || a.split == "test" || a.split == "all", "--split", "must be train, test or all");
  const Verifier verifier;
  JsonlWriter w(a.out);
  std::map<std::string, std::pair<size_t, size_t>> counts;  // family -> (written, skipped)
  size_t written = 0, other_split = 0;
  for (const TaskRecord& t : read_tasks(a.tasks)) {
    if (a.split != "all" && t.split != a.split) {
      ++other_split;
      continue;
    }
    const std::optional<std::string> reply = reference_reply(t);
    // a reply the verifier refuses (an answer no "Answer:" line can carry) is skipped, never written
    if (!reply || !verifier.verify(t, *reply).correct) {
      counts[t.family].second++;
      continue;
    }
    json pair = {{"id", t.id}, {"family", t.family}, {"prompt", t.prompt}, {"response", *reply}};
    if (!t.system.empty()) pair["system"] = t.system;
    w.write(pair);
    counts[t.family].first++;
    ++written;
  }
  w.commit();
  for (const auto& [family, c] : counts) std::printf("%-24s pairs %5zu  skipped %5zu\n", family.c_str(), c.first, c.second);
  std::printf("tasks pairs: %zu pairs -> %s (%zu tasks of other splits left out)\n", written, a.out.c_str(), other_split);
  if (written == 0) fail(a.tasks, "gave no pairs", "use tasks of families with an answer in their spec (not only python)");
}

}  // namespace

void register_tasks_pairs_command(CLI::App& tasks) {
  auto* cmd = tasks.add_subcommand(
      "pairs",
      "turn tasks into (system, prompt, response) pairs for train --objective sft: the response is the\n"
      "reference answer in the format the verifier expects (\"Answer: ...\", the rule kept); each pair is\n"
      "verified before it is written. Families whose spec holds no answer (python) are skipped and counted.");
  auto a = std::make_shared<PairsArgs>();
  cmd->add_option("--tasks", a->tasks, "tasks JSONL (prealign tasks make)")->required();
  cmd->add_option("--split", a->split, "train, test or all")->capture_default_str();
  cmd->add_option("-o,--out", a->out, "pairs JSONL to write (atomically)")->required();
  cmd->callback([a] { run_tasks_pairs(*a); });
}

}  // namespace prealign
