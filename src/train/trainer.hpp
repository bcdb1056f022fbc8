// The training loop: model + data + objective + AdamW, with warmup/cosine
// schedule, gradient accumulation and clipping, periodic held-out loss and
// checkpoints, and exact resume.
#pragma once
#include <string>
#include <vector>

#include "core/json_io.hpp"
#include "train/objective.hpp"

namespace prealign {

struct TrainOptions {
  std::string data;                // dataset directory (prealign tokenize --out)
  std::string out = "runs/train";  // run directory: checkpoint/, metrics.jsonl, run.json
  std::string model = "tiny";      // preset or explicit spec (model/config.hpp)
  std::string init_from;           // fine-tune: start from this checkpoint's weights
  std::string policy;              // policy.json stored in the checkpoint (default: derived from the objective)
  bool resume = false;             // continue <out>/checkpoint
  int64_t steps = 1000;
  int64_t stop_after = 0;          // end this invocation after this many steps (job time limits); 0 = run to `steps`
  int batch_size = 8;
  int seq_len = 256;
  int grad_accum = 1;
  double lr = 1e-3;
  double min_lr_ratio = 0.1;
  int64_t warmup_steps = -1;       // -1: 1% of steps (PHF warmup_ratio 0.01), at least 1
  double weight_decay = 0.1;
  double beta1 = 0.9, beta2 = 0.95;
  double grad_clip = 1.0;
  uint64_t seed = 1;
  int64_t eval_every = 100;
  int eval_batches = 16;
  int64_t save_every = 0;          // 0: at the end (and at stop_after) only
  bool keep_checkpoints = false;   // also keep a copy per save in <out>/checkpoints/step-N
  int64_t log_every = 10;
  std::string device = "cpu";
  ObjectiveOptions objective;

  template <class V>
  void visit(V& v) {
    v("data", data, "dataset directory written by prealign tokenize");
    v("out", out, "run directory (checkpoint/, metrics.jsonl, run.json)");
    v("model", model, "model preset or dim=..,layers=..,heads=..");
    v("init_from", init_from, "fine-tune: start from this checkpoint's weights");
    v("policy", policy, "policy file or name to store as the checkpoint's default (default: from the objective)");
    v("resume", resume, "continue from <out>/checkpoint");
    v("steps", steps, "optimizer steps in the whole run");
    v("stop_after", stop_after, "end this invocation after N steps (resume later); 0 = run to --steps");
    v("batch_size", batch_size, "sequences per micro-batch");
    v("seq_len", seq_len, "tokens per sequence");
    v("grad_accum", grad_accum, "micro-batches per optimizer step");
    v("lr", lr, "peak learning rate");
    v("min_lr_ratio", min_lr_ratio, "final learning rate as a fraction of the peak");
    v("warmup_steps", warmup_steps, "linear warmup steps (-1: 1% of steps)");
    v("weight_decay", weight_decay, "AdamW weight decay on matrices");
    v("beta1", beta1, "AdamW beta1");
    v("beta2", beta2, "AdamW beta2");
    v("grad_clip", grad_clip, "clip the gradient norm to this (0 = off)");
    v("seed", seed, "seed for initialisation and data order");
    v("eval_every", eval_every, "held-out loss every N steps (0 = end only)");
    v("eval_batches", eval_batches, "validation batches per held-out evaluation");
    v("save_every", save_every, "checkpoint every N steps (0 = end only)");
    v("keep_checkpoints", keep_checkpoints, "keep every saved checkpoint under <out>/checkpoints/");
    v("log_every", log_every, "metrics line every N steps");
    v("device", device, "cpu, cuda, cuda:N");
    objective.visit(v);
  }
};

struct TrainResult {
  int64_t step = 0;
  uint64_t tokens = 0;
  double final_loss = 0, val_loss = 0;
  std::vector<double> losses;  // training loss of every step run in this invocation
  double tokens_per_second = 0, mfu = 0;
  std::string checkpoint;
};

TrainResult train(TrainOptions options);

}  // namespace prealign
