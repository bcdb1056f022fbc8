// Tag agreement (seed 004: "have the model retag a sample of its pretraining
// data and compare with the classifiers"): at the start of every held-out
// segment, the model's probability of the bad tag, compared with the scorer's
// label of that segment. The held-out documents are laid out as in conditional
// training with every segment tagged (drop fraction 0), so the model reads the
// true tags of the preceding segments and predicts the next one. Reported:
// AUROC of p(bad) / (p(bad) + p(good)) and of raw p(bad), calibration bins and
// expected calibration error of the former.
#pragma once
#include <string>

#include "core/json_io.hpp"

namespace prealign {

struct TagAgreementOptions {
  std::string model;
  std::string data;  // "" = the checkpoint's dataset
  int batch_size = 8;
  int seq_len = 0;   // 0 = as in training
  int max_segments = 20000;
  int bins = 10;
  std::string out = "tag_agreement.json";
  std::string device = "cpu";  // where the model runs: cpu, cuda, cuda:N

  template <class V>
  void visit(V& v) {
    v("model", model, "checkpoint directory (trained with tags, e.g. conditional)");
    v("data", data, "dataset directory (default: the checkpoint's)");
    v("batch_size", batch_size, "sequences per batch");
    v("seq_len", seq_len, "tokens per sequence (0: as in training)");
    v("max_segments", max_segments, "stop after this many held-out segments");
    v("bins", bins, "calibration bins");
    v("out", out, "report JSON");
    v("device", device, "where the model runs: cpu, cuda, cuda:N");
  }
};

ordered_json run_tag_agreement(const TagAgreementOptions& options);

}  // namespace prealign
