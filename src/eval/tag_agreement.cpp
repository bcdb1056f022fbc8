#include "eval/tag_agreement.hpp"

#include "core/error.hpp"
#include "core/lines.hpp"
#include "core/progress.hpp"
#include "eval/eval_model.hpp"
#include "eval/heldout_eval.hpp"
#include "eval/stats.hpp"

namespace prealign {

ordered_json run_tag_agreement(const TagAgreementOptions& o) {
  EvalModel m = load_eval_model(o.model, o.device);
  const std::string data_dir = o.data.empty() ? m.trained.data : o.data;
  if (data_dir.empty()) fail(o.model + "/train_state.json", "no dataset recorded", "pass --data");
  Dataset data = Dataset::open(data_dir);
  if (data.categories.empty()) fail(data_dir, "the dataset has no segment scores to compare with");
  if (data.val.empty()) fail(data_dir, "the dataset has no validation shards", "tokenize with --val-fraction > 0");
  ObjectiveOptions oo = m.trained.objective;
  oo.name = "conditional";
  oo.drop_fraction = 0;  // every segment tagged: one prediction per segment
  auto objective = checkpoint_objective(m, data, oo);
  const int good = m.tokenizer->tag_id(oo.good_tag), bad = m.tokenizer->tag_id(oo.bad_tag);
  // One pass: documents planned after the last held-out one (the stream wraps)
  // get no label, and their tags are not counted.
  uint64_t val_docs = 0, planned = 0;
  for (const auto& s : data.val) val_docs += s->n_docs();
  auto planner = [&](const DocumentView& d, DocumentPlan& p) {
    objective->plan(d, p);
    if (++planned > val_docs)
      for (auto& sp : p.segments) sp.label = kLabelNone;
  };

  const int T = o.seq_len > 0 ? o.seq_len : m.trained.seq_len, B = o.batch_size;
  BatchStream stream(data.val, planner, B, T, 0, false);
  torch::NoGradGuard no_grad;
  m.checkpoint.model->eval();
  std::vector<double> q, raw;
  std::vector<bool> labels;
  Batch batch;
  // Every prediction, for checking and plotting; the first few also carry the
  // token ids the model saw, so an independent forward pass can reproduce them.
  constexpr size_t kWithContext = 32;
  JsonlWriter side(o.out + ".segments.jsonl");
  // Tags add about one token per segment: a pass over the validation set is
  // about (tokens + segments) / (B * T) batches.
  uint64_t val_segments = 0;
  for (const auto& s : data.val) val_segments += s->n_segments();
  const uint64_t passes = (data.val_tokens() + val_segments) / uint64_t(B * T) + 1;
  for (uint64_t i = 0; i < passes && planned <= val_docs && q.size() < size_t(o.max_segments); ++i) {
    stream.next(batch);
    BatchTensors t = to_tensors(batch, m.checkpoint.model->parameters().front().device());
    auto probs = torch::softmax(m.checkpoint.model->forward(t.inputs), -1);  // (B, T, V)
    auto at_tag = (t.targets.eq(good) | t.targets.eq(bad)) & t.is_tag;       // (B, T)
    auto idx = at_tag.nonzero();                                             // (K, 2)
    auto pb = probs.index({idx.select(1, 0), idx.select(1, 1), bad});
    auto pg = probs.index({idx.select(1, 0), idx.select(1, 1), good});
    auto lab = t.label.index({idx.select(1, 0), idx.select(1, 1)});
    for (int64_t k = 0; k < idx.size(0) && q.size() < size_t(o.max_segments); ++k) {
      if (lab[k].item<int8_t>() == kLabelNone) continue;
      double b_ = pb[k].item<double>(), g_ = pg[k].item<double>();
      raw.push_back(b_);
      q.push_back(b_ / std::max(1e-30, b_ + g_));
      labels.push_back(lab[k].item<int8_t>() == kLabelBad);
      json rec = {{"p_bad", b_}, {"p_good", g_}, {"q", q.back()}, {"bad", bool(labels.back())}};
      if (q.size() <= kWithContext) {
        const int64_t row = idx[k][0].item<int64_t>(), pos = idx[k][1].item<int64_t>();
        rec["context"] = std::vector<int64_t>(batch.inputs.begin() + row * T, batch.inputs.begin() + row * T + pos + 1);
      }
      side.write(rec);
    }
  }
  side.commit();
  double ece = 0;
  auto bins = calibration(q, labels, o.bins, &ece);
  size_t positives = 0;
  double q_bad = 0, q_good = 0, correct = 0;
  for (size_t i = 0; i < q.size(); ++i) {
    positives += labels[i];
    (labels[i] ? q_bad : q_good) += q[i];
    correct += (q[i] > 0.5) == labels[i];
  }
  ordered_json rep = report_header("tag_agreement", m);
  rep["data"] = data_dir;
  rep["segments"] = q.size();
  rep["bad_fraction"] = q.empty() ? 0.0 : double(positives) / double(q.size());
  rep["auroc"] = auroc(q, labels);
  rep["auroc_raw_p_bad"] = auroc(raw, labels);
  rep["accuracy_at_0.5"] = q.empty() ? 0.0 : correct / double(q.size());
  rep["mean_p_bad_on_bad"] = positives ? q_bad / double(positives) : 0.0;
  rep["mean_p_bad_on_good"] = q.size() > positives ? q_good / double(q.size() - positives) : 0.0;
  rep["expected_calibration_error"] = ece;
  ordered_json cal = ordered_json::array();
  for (const auto& b : bins)
    cal.push_back({{"low", b.low}, {"high", b.high}, {"count", b.count}, {"mean_predicted", b.mean_predicted},
                   {"observed", b.observed}});
  rep["calibration"] = cal;
  rep["segments_file"] = o.out + ".segments.jsonl";
  write_report(o.out, rep);
  return rep;
}

}  // namespace prealign
