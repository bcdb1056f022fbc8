// How far a fine-tuned model moved from the model it started from: the
// per-token KL divergence KL(p_model || p_base), averaged over the positions of
// held-out text (seed 003: the fine-tuning should be "light touch"; measured,
// not assumed). docs/sft.md "The light-touch report".
//
//   KL at position t = sum_v p_model(v | x_<=t) * (log p_model(v | x_<=t) - log p_base(v | x_<=t))
//   reported         = mean over every position of every sequence (padding excluded)
//
// Both models read the same tokens; they must share a vocabulary.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/json_io.hpp"
#include "model/llama.hpp"

namespace prealign {

// (B, T, V), (B, T, V) -> (B, T): KL(softmax(p_logits) || softmax(q_logits)) per position.
torch::Tensor token_kl(const torch::Tensor& p_logits, const torch::Tensor& q_logits);

struct KlResult {
  double mean = 0;          // mean over positions (nats per token)
  double max_position = 0;  // the largest KL at any one position
  uint64_t positions = 0, sequences = 0;
  std::vector<double> per_sequence;  // each sequence's mean over its positions
  ordered_json to_json() const;      // mean, max_position, positions, sequences, per-sequence CI
};

// KL(model || base) over every position of each sequence (each read whole,
// from its first token), batches of `batch_size` sequences padded on the
// right. Both models are put in eval mode for the pass and restored after.
KlResult kl_on_sequences(LlamaModel& model, LlamaModel& base, const std::vector<std::vector<int>>& sequences,
                         int batch_size);

// Up to `max_sequences` windows of `seq_len` tokens from a dataset directory
// (prealign tokenize): its validation shards in order, or its training shards
// when it has none; documents laid out as plain text (BOS, text, EOS; no tags).
std::vector<std::vector<int>> dataset_windows(const std::string& dir, int seq_len, int max_sequences);

}  // namespace prealign
