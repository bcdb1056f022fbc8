#include "eval/kl.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "data/batch_stream.hpp"
#include "data/shard.hpp"
#include "eval/stats.hpp"
#include "model/eval_mode.hpp"

namespace prealign {

torch::Tensor token_kl(const torch::Tensor& p_logits, const torch::Tensor& q_logits) {
  auto logp = torch::log_softmax(p_logits.to(torch::kFloat), -1);  // (B, T, V)
  auto logq = torch::log_softmax(q_logits.to(torch::kFloat), -1);  // (B, T, V)
  return (logp.exp() * (logp - logq)).sum(-1);                      // (B, T)
}

ordered_json KlResult::to_json() const {
  ordered_json j;
  j["mean"] = mean;
  j["max_position"] = max_position;
  j["positions"] = positions;
  j["sequences"] = sequences;
  if (per_sequence.size() > 1) j["mean_of_sequences"] = bootstrap(per_sequence, mean_of).to_json();
  return j;
}


KlResult kl_on_sequences(LlamaModel& model, LlamaModel& base, const std::vector<std::vector<int>>& sequences,
                         int batch_size) {
  if (model->config().vocab_size != base->config().vocab_size)
    fail("kl", "the models have different vocabularies (" + std::to_string(model->config().vocab_size) + " and " +
                   std::to_string(base->config().vocab_size) + " tokens)",
         "compare a fine-tuned model with the checkpoint it started from");
  torch::NoGradGuard no_grad;
  EvalModeScope a(model), b(base);
  const auto device = model->parameters().front().device();
  const auto base_device = base->parameters().front().device();
  KlResult r;
  double sum = 0;
  for (size_t first = 0; first < sequences.size(); first += size_t(std::max(1, batch_size))) {
    const size_t end = std::min(sequences.size(), first + size_t(std::max(1, batch_size)));
    int64_t T = 1;
    for (size_t i = first; i < end; ++i) T = std::max<int64_t>(T, int64_t(sequences[i].size()));
    const int64_t B = int64_t(end - first);
    std::vector<int64_t> id_buf(size_t(B * T), 0);
    std::vector<uint8_t> mask_buf(size_t(B * T), 0);
    for (int64_t i = 0; i < B; ++i) {
      const auto& s = sequences[first + size_t(i)];
      for (size_t t = 0; t < s.size(); ++t) {
        id_buf[size_t(i * T) + t] = s[t];
        mask_buf[size_t(i * T) + t] = 1;
      }
    }
    auto ids = torch::from_blob(id_buf.data(), {B, T}, torch::kInt64).clone();                      // (B, T)
    auto mask = torch::from_blob(mask_buf.data(), {B, T}, torch::kUInt8).to(torch::kBool);          // (B, T)
    auto kl = token_kl(model->forward(ids.to(device)), base->forward(ids.to(base_device)).to(device))
                  .cpu()
                  .masked_fill(mask.logical_not(), 0.0);  // (B, T)
    for (int64_t i = 0; i < B; ++i) {
      const int64_t n = mask[i].sum().item<int64_t>();
      if (n == 0) continue;
      const double row = kl[i].sum().item<double>();
      r.per_sequence.push_back(row / double(n));
      sum += row;
      r.positions += uint64_t(n);
    }
    r.max_position = std::max(r.max_position, kl.max().item<double>());
  }
  r.sequences = r.per_sequence.size();
  r.mean = r.positions ? sum / double(r.positions) : 0.0;
  return r;
}

std::vector<std::vector<int>> dataset_windows(const std::string& dir, int seq_len, int max_sequences) {
  const Dataset data = Dataset::open(dir);
  const auto& shards = data.val.empty() ? data.train : data.val;
  if (shards.empty()) fail(dir, "the dataset has no shards", "tokenize a corpus into it first");
  // Plain text: every document kept, no tags inserted.
  auto plain = [](const DocumentView& d, DocumentPlan& p) {
    p.keep = true;
    p.prefix.clear();
    p.segments.resize(d.shard->doc_segment_end(d.doc) - d.shard->doc_segment_begin(d.doc));
    for (SegmentPlan& s : p.segments) {
      s.prefix.clear();
      s.label = kLabelNone;
      s.score = 0.f;
    }
  };
  const uint64_t tokens = data.val.empty() ? data.train_tokens() : data.val_tokens();
  const int n = int(std::min<uint64_t>(uint64_t(std::max(0, max_sequences)), std::max<uint64_t>(1, tokens / uint64_t(seq_len))));
  BatchStream stream(shards, plain, 1, seq_len, /*seed=*/0, /*shuffle=*/false);
  Batch batch;
  std::vector<std::vector<int>> out;
  for (int i = 0; i < n; ++i) {
    stream.next(batch);
    out.emplace_back(batch.inputs.begin(), batch.inputs.end());
  }
  return out;
}

}  // namespace prealign
