// The first two steps of a GRPO step (docs/rlvr.md): choose the step's tasks,
// decode a group of samples for each under the checkpoint's tag policy (a
// banned tag is never sampled), and score every sample with the task's verifier.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "decode/generate_options.hpp"
#include "decode/policy.hpp"
#include "model/llama.hpp"
#include "tasks/task.hpp"
#include "tasks/verifier.hpp"
#include "tokenizer/tokenizer.hpp"

namespace prealign {

// One sampled completion of one task.
struct Sample {
  size_t task = 0;           // index into the task list
  std::vector<int> context;  // what the model continued (task_context)
  std::vector<int> tokens;   // sampled tokens, the final EOS or stop tag included
  std::vector<int> states;   // policy state index each token was sampled in
  std::vector<float> temptation;  // per token: raw probability of the tags banned in its state
  std::string text;          // the completion as the verifier reads it (tags removed)
  std::string finish_reason;
  // Filled by reward_samples():
  double reward = 0;
  bool correct = false, format_ok = false;
};

struct RolloutOptions {
  int prompts_per_step = 4;  // P
  int group = 4;             // G samples per prompt
  GenerateOptions generate;  // temperature, top-p, max_new_tokens (seed unused: per-sample seeds below)
};

// P distinct task indices out of n (P <= n), a pure function of (seed, step):
// a resumed run draws what the uninterrupted one drew.
std::vector<size_t> pick_tasks(size_t n, int prompts_per_step, uint64_t seed, int64_t step);

// Decodes G samples of every picked task in one decode_batch, sample (i, g) with
// a seed derived from (seed, step, i, g). Result: P*G samples, groups consecutive.
// `tasks[picked[i]]` is asked with task_context(..., seed_prompt).
std::vector<Sample> rollout(LlamaModel& model, const Tokenizer& tokenizer, const Policy& policy,
                            const std::vector<TaskRecord>& tasks, const std::vector<size_t>& picked,
                            const std::string& seed_prompt, const RolloutOptions& options, uint64_t seed,
                            int64_t step);

// The reward step: every sample's completion through the verifier (the code
// `prealign tasks verify` runs), on up to `jobs` threads.
void reward_samples(std::vector<Sample>& samples, const std::vector<TaskRecord>& tasks, const Verifier& verifier,
                    int jobs);

}  // namespace prealign
