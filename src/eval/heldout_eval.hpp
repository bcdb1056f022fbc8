// Held-out loss of a checkpoint on a dataset's validation shards with tag tokens
// excluded (train/heldout.hpp), documents planned as the checkpoint's objective
// planned them in training (tags inserted for conditional) but every document
// kept (a filter model is scored on the documents it never saw too).
#pragma once
#include <string>

#include "core/json_io.hpp"
#include "eval/eval_model.hpp"
#include "train/objective.hpp"

namespace prealign {

struct LossEvalOptions {
  std::string model;
  std::string data;  // "" = the dataset the checkpoint was trained on
  int batch_size = 8;
  int seq_len = 0;   // 0 = the training seq_len
  int batches = 0;   // 0 = one pass over the validation tokens
  std::string out = "loss.json";
  std::string device = "cpu";  // where the model runs: cpu, cuda, cuda:N
  bool untagged = false;       // lay the text out as MLE does: no tag the objective inserts

  template <class V>
  void visit(V& v) {
    v("model", model, "checkpoint directory");
    v("data", data, "dataset directory (default: the one in the checkpoint's train_state)");
    v("batch_size", batch_size, "sequences per batch");
    v("seq_len", seq_len, "tokens per sequence (0: as in training)");
    v("batches", batches, "validation batches (0: one pass over the validation tokens)");
    v("out", out, "report JSON");
    v("device", device, "where the model runs: cpu, cuda, cuda:N");
    v("untagged", untagged,
      "score the text with no tag in the input, as an MLE model reads it (a conditional model used without "
      "tags, e.g. after a --cooldown-fraction)");
  }
};

// The objective of a checkpoint rebuilt on `data` (for plans and labels).
std::unique_ptr<Objective> checkpoint_objective(const EvalModel& m, const Dataset& data, ObjectiveOptions options);

ordered_json run_loss_eval(const LossEvalOptions& options);

}  // namespace prealign
