#include "train/heldout.hpp"

#include <cmath>

#include "core/error.hpp"
#include "dist/process_group.hpp"
#include "model/eval_mode.hpp"

namespace prealign {

HeldoutLoss heldout_loss(LlamaModel& model, const Dataset& data, const DocumentPlanner& planner, int batch_size,
                         int seq_len, int batches, const ProcessGroup* group) {
  if (data.val.empty()) fail(data.dir, "the dataset has no validation shards", "tokenize with --val-fraction > 0");
  torch::NoGradGuard no_grad;
  EvalModeScope eval_mode(model);
  const auto device = model->parameters().front().device();
  BatchStream stream(data.val, planner, batch_size, seq_len, /*seed=*/0, /*shuffle=*/false);
  Batch batch;
  double text_sum = 0, tag_sum = 0;
  HeldoutLoss r;
  const int rank = group ? group->rank() : 0, world = group ? group->size() : 1;
  for (int round = 0; round < batches; ++round) {
    stream.next_slice(batch, rank, world);
    BatchTensors t = to_tensors(batch, device);
    auto ce = token_cross_entropy(model->forward(t.inputs), t.targets);  // (B, T)
    auto text = t.is_tag.logical_not();
    text_sum += (ce * text).sum().item<double>();
    tag_sum += (ce * t.is_tag).sum().item<double>();
    r.tokens += static_cast<uint64_t>(text.sum().item<int64_t>());
    r.tag_tokens += static_cast<uint64_t>(t.is_tag.sum().item<int64_t>());
  }
  if (group) {
    auto sums = group->sum({text_sum, tag_sum, double(r.tokens), double(r.tag_tokens)});
    text_sum = sums[0];
    tag_sum = sums[1];
    r.tokens = static_cast<uint64_t>(sums[2]);
    r.tag_tokens = static_cast<uint64_t>(sums[3]);
  }
  r.loss = text_sum / std::max<double>(1.0, static_cast<double>(r.tokens));
  r.tag_loss = r.tag_tokens ? tag_sum / static_cast<double>(r.tag_tokens) : 0.0;
  r.perplexity = std::exp(r.loss);
  return r;
}

}  // namespace prealign
