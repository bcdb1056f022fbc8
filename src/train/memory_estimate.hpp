// What a training run will hold in memory per rank, estimated from the model's
// shape before anything is allocated, so a run that cannot fit says so at start.
// The activation term counts the tensors autograd keeps for backward in
// src/model/llama.cpp (per token and layer: about 10 model-width vectors, 4
// key/value-width ones, 4 MLP-width ones and the attention probabilities; then
// the logits twice for the loss); a test compares it with the heap a real
// forward pass keeps (within 0.8x-1.25x; measured 1.04x fp32 and bf16).
#pragma once
#include <cstdint>
#include <string>

#include "model/config.hpp"

namespace prealign {

struct MemoryEstimate {
  double weights = 0, gradients = 0, optimizer = 0, activations = 0, casts = 0;  // bytes
  double total() const { return weights + gradients + optimizer + activations + casts; }
  std::string describe() const;  // "weights 0.49 GB + gradients ... = 5.2 GB"
};

// batch: sequences per micro-batch; precision: "fp32", "bf16" or "fp16".
MemoryEstimate estimate_training_memory(const ModelConfig& config, int batch, int seq_len, const std::string& precision,
                                        bool grad_checkpoint);

// Bytes autograd keeps per token for one decoder block, and for the loss head.
double activation_bytes_per_token_per_layer(const ModelConfig& config, int seq_len, const std::string& precision);
double head_activation_bytes_per_token(const ModelConfig& config);

}  // namespace prealign
