// Evaluating a checkpoint on verifiable tasks (seed 002, 003): K samples per
// task, each asked the one way every trainer asks it (task_prompt.hpp: the
// task's system prompt and prompt as chat turns, the seed prompt where the
// chat template puts it), decoded under the checkpoint's tag policy, scored
// by the verifier `prealign tasks verify` runs. `eval tasks` reports per
// family; `eval adherence` (adherence.hpp) reads the same samples per rule.
//
// It lives in src/rl/ beside task_prompt.hpp: it needs the task module, the
// decoder and eval's model loading together, and rl is the module that already
// joins them (eval itself stays free of task and rl headers).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/json_io.hpp"
#include "decode/policy.hpp"
#include "eval/eval_model.hpp"
#include "tasks/task.hpp"
#include "tasks/verifier.hpp"

namespace prealign {

// What decoding and verifying K samples per task takes; shared by `eval tasks`
// and `eval adherence`.
struct TaskSamplingOptions {
  std::string model;        // checkpoint directory
  std::string tasks;        // tasks JSONL (prealign tasks make)
  std::string split = "test";  // test | train | all
  std::string seed_prompt;  // file; "" = no seed prompt
  std::string policy;       // "" = the checkpoint's policy
  int samples = 1;          // K per task
  int max_new_tokens = 96;
  double temperature = 0.7;
  double top_p = 0.9;
  int batch = 32;           // sequences decoded together
  int jobs = 2;             // verifications at once (python tasks start a sandbox each)
  uint64_t seed = 1;
  std::string completions;  // "" = <out>.completions.jsonl
  std::string device = "cpu";

  template <class V>
  void visit(V& v) {
    v("model", model, "checkpoint directory");
    v("tasks", tasks, "tasks JSONL (prealign tasks make)");
    v("split", split, "which records: test, train or all");
    v("seed_prompt", seed_prompt, "seed prompt file, placed as the chat template places it (default: none)");
    v("policy", policy, "policy file or name, or \"none\" (default: the checkpoint's)");
    v("samples", samples, "samples per task");
    v("max_new_tokens", max_new_tokens, "tokens per sample at most");
    v("temperature", temperature, "sampling temperature (0: greedy)");
    v("top_p", top_p, "nucleus mass (1 = off)");
    v("batch", batch, "sequences decoded together");
    v("jobs", jobs, "completions verified at once");
    v("seed", seed, "sampling seed");
    v("completions", completions, "completions JSONL to write, in the `tasks verify` format (default: <out>.completions.jsonl)");
    v("device", device, "where the model runs: cpu, cuda, cuda:N");
  }
};

// One sample of one task, decoded and verified.
struct TaskSample {
  size_t task = 0;         // index into the evaluated tasks
  int sample = 0;          // 0 .. K-1
  std::string completion;  // generated text, tags removed, invalid UTF-8 replaced: what was verified
  std::string finish_reason;
  int tokens = 0;
  double mean_temptation = 0, max_temptation = 0;
  Verdict verdict;
};

// The records of `split` ("test", "train" or "all"); an Error naming `path`
// for another split name or when none is left.
std::vector<TaskRecord> select_split(const std::vector<TaskRecord>& tasks, const std::string& split,
                                     const std::string& path);

// K samples per task, `batch` sequences per decode_batch, sample k of task i
// seeded by (seed, i * K + k). A context longer than the model's window is an
// Error naming the tasks file and the task id.
std::vector<TaskSample> sample_tasks(EvalModel& m, const Policy& policy, const std::vector<TaskRecord>& tasks,
                                     const std::string& seed_prompt, const TaskSamplingOptions& o);

// Fills each sample's verdict with verify_completions, the function behind
// `prealign tasks verify`, so both score a completion the same way.
void verify_samples(const std::vector<TaskRecord>& tasks, std::vector<TaskSample>& samples, int jobs);

// {"id", "completion"} per sample (what `tasks verify` reads) plus sample,
// family, split, finish_reason, temptation and the verdict fields.
void write_completions(const std::string& path, const std::vector<TaskRecord>& tasks,
                       const std::vector<TaskSample>& samples);

// Counts over a set of samples, and their rates with Wilson 95% intervals.
struct TaskTally {
  uint64_t n = 0, task_ok = 0, rule_ok = 0, correct = 0, format_ok = 0;
  double temptation_sum = 0, temptation_max = 0;
  void add(const TaskSample& s);
  // {"n", "task_accuracy", "rule_adherence" (only if with_rule), "correct",
  //  "format_ok": {"count", "value", "ci_low", "ci_high"}, "temptation": {"mean", "max"}}
  ordered_json to_json(bool with_rule) const;
};

bool is_system_rule_family(const std::string& family);

// `prealign eval tasks`: writes the report (o.out) and the completions file.
struct TaskEvalOptions {
  TaskSamplingOptions sampling;
  std::string out = "tasks_eval.json";
};
ordered_json run_task_eval(const TaskEvalOptions& o);
std::string format_task_eval(const ordered_json& report);

// The pieces both commands begin with: model, policy, seed prompt, the
// selected tasks, samples decoded and verified, the completions written.
struct TaskRun {
  EvalModel model;
  Policy policy;
  std::vector<TaskRecord> all_tasks, tasks;  // the file, and the selected split
  std::vector<TaskSample> samples;
  std::string completions_path;
};
TaskRun run_task_samples(const TaskSamplingOptions& o, const std::string& out,
                         bool (*keep)(const TaskRecord&) = nullptr);
// The settings and inputs every report of these commands records.
ordered_json task_run_header(const std::string& kind, const TaskRun& run, const TaskSamplingOptions& o);

}  // namespace prealign
