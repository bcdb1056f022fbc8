// `prealign classifier train|eval`: labeled examples from JSONL, a held-out
// split, a fastText classifier, and its precision/recall/F1 for the bad label.
//
// Examples come either from a label field of each record (document-level
// labels: "bad"/"good" strings, true/false, 1/0), or from the segment scores of
// a scored corpus (--from-scores pii --threshold 0: each segment is an example,
// bad as the Labeler decides; this distils an expensive scorer into a cheap gate
// for a cascade). The split is by document id, so segments of one document
// never land on both sides.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/json_io.hpp"
#include "score/fasttext_model.hpp"

namespace prealign {

struct ClassifierDataOptions {
  std::string label_field = "label";
  std::string bad_label = "bad";  // the positive class (the scorer's probability); the other is "good"
  std::string from_scores;        // "": labels from label_field; else this score category, per segment
  std::string threshold = "0";    // with from_scores: bad if score > threshold (absolute or pNN)
  double valid_fraction = 0.1;    // held out, by hash of the document id
  uint64_t split_seed = 0;
  std::string text_field = "text";
  std::string id_field = "id";
  bool skip_bad = false;

  template <class V>
  void visit(V& v) {
    v("label_field", label_field, "JSONL field with the document's label (string, true/false or 1/0)");
    v("bad_label", bad_label, "the positive label (its probability is the score)");
    v("from_scores", from_scores, "instead of labels: this score category of a scored corpus, one example per segment");
    v("threshold", threshold, "with --from-scores: bad if score > threshold (absolute, or percentile pNN)");
    v("valid_fraction", valid_fraction, "fraction of documents held out for evaluation (by hash of the id)");
    v("split_seed", split_seed, "seed of the held-out split");
    v("text_field", text_field, "JSONL field holding the text");
    v("id_field", id_field, "JSONL field holding the document id");
    v("skip_bad", skip_bad, "skip and count bad records instead of stopping");
  }
};

struct BinaryCounts {
  uint64_t tp = 0, fp = 0, fn = 0, tn = 0;
  double precision() const { return tp + fp ? double(tp) / double(tp + fp) : 0.0; }
  double recall() const { return tp + fn ? double(tp) / double(tp + fn) : 0.0; }
  double f1() const {
    const double p = precision(), r = recall();
    return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
  }
  uint64_t total() const { return tp + fp + fn + tn; }
};

struct ExampleCounts {
  uint64_t train = 0, valid = 0, skipped = 0;
  std::map<std::string, uint64_t> train_labels, valid_labels;
};

// Writes the examples of `inputs` as fastText lines: the training split to
// `train_path`, the held-out split to `valid_path` (either may be "" = not written).
ExampleCounts write_examples(const std::vector<std::string>& inputs, const ClassifierDataOptions& o,
                             const std::string& train_path, const std::string& valid_path);

struct Evaluation {
  double threshold = 0.5;
  BinaryCounts at_threshold;
  // For a sweep of thresholds t: counts with "predicted bad" = P(bad) > t; the
  // fraction predicted bad is what a cascade gate at t would forward.
  std::vector<std::pair<double, BinaryCounts>> sweep;
  ordered_json to_json() const;
};

// Evaluates `model` on a file of fastText example lines.
Evaluation evaluate_classifier(const FastTextModel& model, const std::string& examples, const std::string& bad_label,
                               double threshold);
std::string format_evaluation(const Evaluation& e);

}  // namespace prealign
