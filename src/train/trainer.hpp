// The training loop: model + data + objective + AdamW, with warmup/cosine
// schedule, gradient accumulation and clipping, periodic held-out loss and
// checkpoints, and exact resume. The same loop runs data-parallel when the
// process is one rank of a torchrun-style launch (src/dist/): each rank reads
// its slice of every global batch, gradients are averaged across ranks, and
// rank 0 alone writes.
#pragma once
#include <set>
#include <string>
#include <vector>

#include "core/json_io.hpp"
#include "train/objective.hpp"

namespace prealign {

struct TrainOptions {
  std::string data;                // dataset directory (prealign tokenize --out), or a mix "a=0.9,b=0.1"
  std::string out = "runs/train";  // run directory: checkpoint/, metrics.jsonl, run.json
  std::string model = "tiny";      // preset or explicit spec (model/config.hpp)
  std::string init_from;           // fine-tune: start from this checkpoint's weights
  std::string policy;              // policy.json stored in the checkpoint (default: derived from the objective)
  bool resume = false;             // continue <out>/checkpoint
  bool auto_resume = false;        // resume when <out>/checkpoint exists, else start (scheduler requeues)
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
  std::string precision = "fp32";  // fp32 | bf16 | fp16 (train/mixed_precision.hpp)
  bool grad_checkpoint = false;    // recompute each block's activations in backward
  double cooldown_fraction = 0;    // the last F of steps see no tag the objective inserts (MeCo cooldown)
  double grad_bucket_mb = 25;      // data-parallel: gradients all-reduced in buckets of this size
  bool grad_overlap = false;       // data-parallel: all-reduce buckets while backward runs
  int dist_timeout = 1800;         // data-parallel: seconds a rendezvous or collective may take
  ObjectiveOptions objective;

  template <class V>
  void visit(V& v) {
    v("data", data, "dataset directory written by prealign tokenize, or a weighted mix: a=0.9,b=0.1");
    v("out", out, "run directory (checkpoint/, metrics.jsonl, run.json)");
    v("model", model, "model preset or dim=..,layers=..,heads=..");
    v("init_from", init_from, "fine-tune: start from this checkpoint's weights");
    v("policy", policy, "policy file or name to store as the checkpoint's default (default: from the objective)");
    v("resume", resume, "continue from <out>/checkpoint");
    v("auto_resume", auto_resume, "resume if <out>/checkpoint exists, else start a new run (for job requeues)");
    v("steps", steps, "optimizer steps in the whole run");
    v("stop_after", stop_after, "end this invocation after N steps (resume later); 0 = run to --steps");
    v("batch_size", batch_size, "sequences per micro-batch, per rank");
    v("seq_len", seq_len, "tokens per sequence");
    v("grad_accum", grad_accum, "micro-batches per optimizer step (global batch = batch x grad-accum x ranks)");
    v("lr", lr, "peak learning rate");
    v("min_lr_ratio", min_lr_ratio, "final learning rate as a fraction of the peak");
    v("warmup_steps", warmup_steps, "linear warmup steps (-1: 1% of steps)");
    v("weight_decay", weight_decay, "AdamW weight decay on matrices");
    v("beta1", beta1, "AdamW beta1");
    v("beta2", beta2, "AdamW beta2");
    v("grad_clip", grad_clip, "clip the gradient norm to this (0 = off)");
    v("seed", seed, "seed for initialisation and data order");
    v("eval_every", eval_every, "held-out loss every N steps (0 = end only)");
    v("eval_batches", eval_batches, "held-out evaluation: this many global batches of validation sequences");
    v("save_every", save_every, "checkpoint every N steps (0 = end only)");
    v("keep_checkpoints", keep_checkpoints, "keep every saved checkpoint under <out>/checkpoints/");
    v("log_every", log_every, "progress line every N steps (metrics.jsonl gets every step)");
    v("device", device, "cpu, cuda, cuda:N (data-parallel ranks on CUDA use cuda:LOCAL_RANK)");
    v("precision", precision, "fp32, bf16 or fp16: autocast matmuls with float32 master weights (fp16: loss scaling)");
    v("cooldown_fraction", cooldown_fraction,
      "train the last F of the steps without the tags the objective inserts (MeCo's cooldown: "
      "metadata for the first 1-F, plain text after; tags in the corpus text itself stay)");
    v("grad_checkpoint", grad_checkpoint, "recompute each block's activations in the backward pass (less memory)");
    v("grad_bucket_mb", grad_bucket_mb, "data-parallel: all-reduce gradients in buckets of this many MB");
    v("grad_overlap", grad_overlap, "data-parallel: start each bucket's all-reduce as soon as backward fills it");
    v("dist_timeout", dist_timeout, "data-parallel: seconds a rendezvous or collective may wait before the run stops");
    objective.visit(v);
  }
};

struct TrainResult {
  int64_t step = 0;
  uint64_t tokens = 0;
  double final_loss = 0, val_loss = 0;
  std::vector<double> losses;  // training loss of every step run in this invocation
  double tokens_per_second = 0, mfu = 0;
  int64_t global_batch = 0;  // sequences per optimizer step over all ranks
  int world_size = 1;
  std::string checkpoint;
};

// `given`: the option names the user set on the command line (the field names);
// on --resume they decide what changes (train/resume.hpp). Without them, the
// fields that differ from their defaults count as given.
TrainResult train(TrainOptions options, const std::set<std::string>* given = nullptr);

}  // namespace prealign
