// `prealign rlvr`: GRPO from verifiable rewards under the checkpoint's tag
// policy (seed 003; docs/rlvr.md). Each step, as named steps:
//   1. rollout     P tasks, G samples each, decoded under the policy
//   2. reward      the task's verifier (+ optional format reward)
//   3. advantages  group-normalised
//   4. loss        clipped ratio of constrained log-probs + β k3 KL to the start model
//   5. step        AdamW with gradient clipping; metrics; checkpoints; exact resume
#pragma once
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace prealign {

struct RlvrOptions {
  std::string model;        // starting checkpoint (also the frozen KL reference)
  std::string tasks;        // tasks JSONL (prealign tasks make)
  std::string seed_prompt;  // seed prompt file; "" = none
  std::string out = "runs/rlvr";
  std::string split = "train";  // train | test | all
  bool resume = false;
  int64_t steps = 100;
  int prompts_per_step = 4;
  int group = 4;
  int iterations = 1;  // optimisation passes per rollout batch (μ); > 1 lets the ratio depart from 1
  int micro_batch = 0;  // sequences per forward/backward pass (0 = all of a step's)
  double lr = 1e-5;
  double weight_decay = 0.0;
  double grad_clip = 1.0;
  double kl_coef = 0.04;
  double clip = 0.2;
  double temperature = 1.0;
  double top_p = 1.0;
  int max_new_tokens = 64;
  double format_weight = 0.0;
  uint64_t seed = 1;
  int64_t log_every = 1;
  int64_t save_every = 0;
  int jobs = 2;  // verifier threads (python tasks start one sandbox each)
  std::string device = "cpu";

  template <class V>
  void visit(V& v) {
    v("model", model, "checkpoint to start from; also the frozen reference of the KL penalty");
    v("tasks", tasks, "tasks JSONL (prealign tasks make)");
    v("seed_prompt", seed_prompt, "seed prompt file put before every task as the chat template places it (none if empty)");
    v("out", out, "run directory: checkpoint/, metrics.jsonl, run.json");
    v("split", split, "which tasks to train on: train, test or all");
    v("resume", resume, "continue <out>/checkpoint");
    v("steps", steps, "GRPO steps in the whole run");
    v("prompts_per_step", prompts_per_step, "tasks per step (P)");
    v("group", group, "samples per task (G >= 2); advantages are normalised within each group");
    v("iterations", iterations, "optimisation passes over each step's rollouts (1: the ratio is exactly 1)");
    v("micro_batch", micro_batch, "sequences per forward/backward pass (0: all P x G at once)");
    v("lr", lr, "AdamW learning rate (constant)");
    v("weight_decay", weight_decay, "AdamW weight decay on matrices");
    v("grad_clip", grad_clip, "clip the gradient norm to this (0 = off)");
    v("kl_coef", kl_coef, "beta: weight of the k3 KL estimate to the starting model (0 = no reference pass)");
    v("clip", clip, "epsilon: the probability ratio is clipped to [1 - eps, 1 + eps]");
    v("temperature", temperature, "sampling temperature; the loss's log-probs use the same one (docs/rlvr.md)");
    v("top_p", top_p, "nucleus sampling (1 = off); the loss does not model the truncation");
    v("max_new_tokens", max_new_tokens, "tokens per completion at most");
    v("format_weight", format_weight, "reward lost by a correct completion without the requested format");
    v("seed", seed, "seed of task choice and sampling");
    v("log_every", log_every, "progress line every N steps (metrics.jsonl gets every step)");
    v("save_every", save_every, "checkpoint every N steps (0 = end only)");
    v("jobs", jobs, "threads verifying completions");
    v("device", device, "cpu, cuda, cuda:N");
  }
};

struct RlvrStepMetrics {
  double reward = 0, accuracy = 0, format_rate = 0;
  double kl = 0, clip_fraction = 0, loss = 0, grad_norm = 0;
  double temptation_mean = 0, temptation_max = 0;
  double completion_tokens = 0;  // mean per sample
  int zero_variance_groups = 0;
  double tokens_per_second = 0, rollout_seconds = 0, step_seconds = 0;
};

struct RlvrResult {
  int64_t step = 0;
  std::vector<RlvrStepMetrics> steps;  // every step run in this invocation
  std::string checkpoint;
};

// `given`: the option names set on the command line (field names); on --resume
// only steps, log_every, save_every, jobs and device may change; any other
// given option must equal the saved one.
RlvrResult rlvr(RlvrOptions options, const std::set<std::string>& given = {});

}  // namespace prealign
