#include "train/memory_estimate.hpp"

#include "core/progress.hpp"

namespace prealign {

double activation_bytes_per_token_per_layer(const ModelConfig& c, int seq_len, const std::string& precision) {
  const double C = c.dim, kv = double(c.n_kv_heads) * c.head_dim(), h = c.resolved_hidden_dim();
  const double probs = double(c.n_heads) * seq_len;  // softmax output, one row of keys per head
  // Kept in float32 whatever the precision: norms, RoPE, residuals, softmax, SwiGLU.
  const double fp32_floats = 7 * C + 2 * kv + 3 * h + probs;
  // Operands of the matrix products (the normed inputs, q, k, v, attention output,
  // SwiGLU product): float32, or a bf16/fp16 copy under autocast — which also copies
  // the probabilities that float32 shares with the softmax.
  if (precision == "fp32") return 4 * (fp32_floats + 3 * C + 2 * kv + h);
  return 4 * fp32_floats + 2 * (3 * C + 2 * kv + h + probs);
}

// The final norm, and the logits and their log-softmax for the cross-entropy.
double head_activation_bytes_per_token(const ModelConfig& c) { return 4.0 * (2.0 * c.dim + 2.0 * c.vocab_size); }

MemoryEstimate estimate_training_memory(const ModelConfig& c, int batch, int seq_len, const std::string& precision,
                                        bool grad_checkpoint) {
  const double n = double(c.parameter_count()), tokens = double(batch) * seq_len;
  MemoryEstimate m;
  m.weights = 4 * n;    // float32 master weights
  m.gradients = 4 * n;  // float32
  m.optimizer = 8 * n;  // AdamW's two moments
  if (precision != "fp32") m.casts = 2 * n;  // the low-precision copies of the weights kept for backward
  const double layer = activation_bytes_per_token_per_layer(c, seq_len, precision);
  // Checkpointing keeps each block's input, plus one block's activations while it is recomputed.
  const double per_token = grad_checkpoint ? c.n_layers * 4.0 * c.dim + layer : c.n_layers * layer;
  m.activations = tokens * (per_token + head_activation_bytes_per_token(c));
  return m;
}

std::string MemoryEstimate::describe() const {
  std::string s = "weights " + human_bytes(weights) + " + gradients " + human_bytes(gradients) + " + AdamW " +
                  human_bytes(optimizer) + " + activations " + human_bytes(activations);
  if (casts > 0) s += " + low-precision weight copies " + human_bytes(casts);
  return s + " = " + human_bytes(total());
}

}  // namespace prealign
