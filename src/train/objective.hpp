// An objective turns a tagged, scored corpus into a loss. It acts twice:
//  - plan():  at batch time, per document — keep or drop it, which tag (if any)
//             goes before each segment, and the score/label each token carries;
//  - loss():  per batch — the training loss from the model's output.
// mle and conditional are in objectives_basic.cpp; filter, unlikelihood, rwr and
// awr each have their own objective_<name>.cpp. docs/objectives.md.
#pragma once
#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/json_io.hpp"
#include "data/batch_stream.hpp"
#include "model/llama.hpp"
#include "score/labeling.hpp"
#include "tokenizer/tokenizer.hpp"

namespace prealign {

struct ObjectiveOptions {
  std::string name = "mle";     // mle | conditional | filter | unlikelihood | rwr | awr
  std::string category;         // score category ("" = the dataset's first)
  std::string threshold = "0";  // absolute score, or corpus percentile "p95"
  double drop_fraction = 0.1;   // conditional: segments left untagged (PHF pep8: 0.1)
  // conditional: where a segment's tag goes: line_start (before the segment, PHF),
  // after_indent (after its leading whitespace tokens) or line_end (before its
  // trailing newline tokens). An ablation of docs/eval.md's indentation collapse.
  std::string tag_position = "line_start";
  std::string good_tag = "<|good|>";
  std::string bad_tag = "<|bad|>";
  double alpha = -1;            // unlikelihood: UL weight (PHF 0.01); awr: CE weight (PHF 0.05); -1 = default
  double beta = -1;             // rwr: temperature (PHF 10); awr: temperature (PHF 1); -1 = default
  double max_weight = 1000;     // awr/rwr: clamp of exp(...) weights
  std::string labeling;         // a `prealign label --config` file; replaces the five flags above it
  std::string filter_threshold = "p90";  // filter: drop documents whose mean segment score exceeds this

  template <class V>
  void visit(V& v) {
    v("objective", name, "mle | conditional | filter | unlikelihood | rwr | awr");
    v("category", category, "score category the objective uses (default: the dataset's first)");
    v("threshold", threshold, "bad if score > threshold; absolute (0.002) or corpus percentile (p95)");
    v("drop_fraction", drop_fraction, "conditional: fraction of segments left untagged");
    v("tag_position", tag_position,
      "conditional: where a segment's tag goes: line_start (PHF), after_indent (after the leading whitespace tokens), "
      "line_end (before the trailing newline tokens)");
    v("good_tag", good_tag, "tag before segments at or under the threshold");
    v("bad_tag", bad_tag, "tag before segments over the threshold");
    v("alpha", alpha, "unlikelihood: weight of the unlikelihood term; awr: weight of the LM term (-1: default)");
    v("beta", beta, "rwr/awr: reward temperature (-1: default)");
    v("max_weight", max_weight, "rwr/awr: clamp for token weights");
    v("labeling", labeling,
      "a prealign label --config file (rules, context tags from metadata, drop_fraction, seed): "
      "labels exactly as prealign label does, instead of --category/--threshold/--drop-fraction/--good-tag/--bad-tag");
    v("filter_threshold", filter_threshold,
      "filter: drop documents whose mean segment score is over this; absolute (0.002361) or percentile of documents (p90)");
  }
};

// Per-token tensors of a batch, on the model's device.
struct BatchTensors {
  torch::Tensor inputs;   // (B, T) int64
  torch::Tensor targets;  // (B, T) int64
  torch::Tensor score;    // (B, T) float32, segment score of each target
  torch::Tensor label;    // (B, T) int8 (kLabelNone / kLabelGood / kLabelBad)
  torch::Tensor is_tag;   // (B, T) bool, target was inserted by the plan
};
BatchTensors to_tensors(const Batch& batch, torch::Device device);

struct LossResult {
  torch::Tensor loss;                      // scalar, what backward() sees
  std::map<std::string, double> metrics;   // for the log (ce, weights, ...)
};

class Objective {
 public:
  virtual ~Objective() = default;
  virtual std::string name() const = 0;
  virtual void plan(const DocumentView& doc, DocumentPlan& plan) const;
  virtual LossResult loss(const ForwardOutput& out, const BatchTensors& batch) = 0;
  // Trainable weights the objective owns (the AWR value head), by name.
  virtual std::vector<std::pair<std::string, torch::Tensor>> parameters() { return {}; }
  virtual ordered_json describe() const;  // resolved settings, stored in train_state
  // Tags that appear in training sequences (their embeddings are re-initialised
  // when fine-tuning a model that never saw them).
  virtual std::vector<int> tags_used() const { return {}; }

 protected:
  Objective(const ObjectiveOptions& o, const Dataset& data);
  // Score/label plan of every segment from the labeler (no tags); shared by all objectives.
  void plan_scores(const DocumentView& doc, DocumentPlan& plan, bool with_tags) const;
  // Segment tokens before the tag: those tag_skips_ marks, from the start (after_indent) or end (line_end).
  uint32_t tag_offset(const Shard& shard, uint64_t segment) const;
  ObjectiveOptions options_;
  std::unique_ptr<Labeler> labeler_;  // null when the dataset has no scores
  std::vector<int> tag_ids_;          // labeler tags -> ids, filled by subclasses that insert tags
  // Per token id (resolve_tags; empty for line_start): the tag moves past it, being a
  // piece of only spaces/tabs (after_indent) or only newlines (line_end, from the end).
  std::vector<uint8_t> tag_skips_;
  bool tag_at_end_ = false;
  std::map<std::string, int> tag_id_of_;
  // Fills tag_ids_/tag_id_of_ with every tag the labeler can put in a sequence
  // (rule tags and context tags): for objectives that insert tags.
  void resolve_tags(const Tokenizer& tokenizer);
};

std::unique_ptr<Objective> make_objective(const ObjectiveOptions& options, const Dataset& data,
                                          const Tokenizer& tokenizer, torch::Device device, int model_dim);
std::vector<std::string> objective_names();

// Mean cross-entropy over the targets where `mask` (B, T) is true; logits (B, T, V).
torch::Tensor masked_cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets, const torch::Tensor& mask);
// Per-token cross-entropy (B, T).
torch::Tensor token_cross_entropy(const torch::Tensor& logits, const torch::Tensor& targets);

}  // namespace prealign
