// Llama-style decoder: RMSNorm, rotary position embeddings, SwiGLU MLP, causal
// (grouped-query) attention, optional tied embeddings, and a KV cache.
// The device is whatever the parameters live on; nothing here assumes CPU.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "model/config.hpp"

namespace prealign {

// Keys and values of earlier positions, per layer: (B, n_kv_heads, T_cached, head_dim).
// Outside autograd, k/v are views into k_buffer/v_buffer, which have room to grow
// (a decode step then writes one position instead of copying the whole cache).
struct KVCache {
  std::vector<torch::Tensor> k, v;
  int64_t length = 0;
  std::vector<torch::Tensor> k_buffer, v_buffer;  // (B, n_kv_heads, capacity, head_dim)
  // Batched decoding of prompts of different lengths: row b's first left_pad[b]
  // positions are padding that no real position attends to (empty = no padding).
  // A row's RoPE positions count from its own first token, so a left-padded row
  // computes what it would alone, and padding can be added or removed in front
  // of cached rows without touching their keys.
  std::vector<int64_t> left_pad;
  void clear();
  // Keeps only these batch rows, in this order (drops finished sequences).
  void select_rows(const std::vector<int64_t>& rows);
  // Appends `other`'s rows after this cache's (sequences joining a running
  // batch). Rows end at the last position in both, so the shorter cache gets
  // more left padding: the result is as long as the longer one.
  void append_rows(const KVCache& other);
  // Drops the leading positions that are padding in every row (left behind
  // when the longest sequence leaves the batch). Then the cache is exactly as
  // long as its longest row, which never exceeds max_seq_len.
  void trim_padding();
};

struct ForwardOutput {
  torch::Tensor logits;                 // (B, T, V)
  torch::Tensor hidden;                 // (B, T, C) after the final norm
  std::vector<torch::Tensor> residual;  // per layer (B, T, C) residual stream after the block, if requested
};

class LlamaModelImpl : public torch::nn::Module {
 public:
  explicit LlamaModelImpl(const ModelConfig& config);

  // tokens (B, T) int64 -> logits (B, T, V)
  torch::Tensor forward(const torch::Tensor& tokens);
  // Full output. With a cache, tokens are appended after cache->length positions
  // and the cache is extended (cache->left_pad masks padding positions per row).
  // keep_residual records each layer's output (for probes).
  ForwardOutput forward_full(const torch::Tensor& tokens, KVCache* cache = nullptr, bool keep_residual = false);

  const ModelConfig& config() const { return config_; }
  // Activation checkpointing: in training (grad mode, no cache) keep only each
  // block's input and recompute the block in the backward pass — memory for
  // activations falls from all of every block's to one block's, for about a
  // third more compute.
  void set_grad_checkpoint(bool on) { grad_checkpoint_ = on; }
  bool grad_checkpoint() const { return grad_checkpoint_; }
  // Weights under Hugging Face Llama names (model.layers.0.self_attn.q_proj.weight, ...).
  // Detached views sharing storage with the parameters (no copy): clone to keep a snapshot.
  std::vector<std::pair<std::string, torch::Tensor>> hf_tensors() const;
  // Copies weights by HF name; missing, unexpected or misshapen tensors are an Error naming `where`.
  void load_hf_tensors(const std::map<std::string, torch::Tensor>& tensors, const std::string& where);
  // Parameters that get weight decay (matrices) and those that do not (norms).
  std::vector<torch::Tensor> decay_parameters() const;
  std::vector<torch::Tensor> no_decay_parameters() const;
  // Name of every parameter, for optimizer state files.
  std::vector<std::pair<std::string, torch::Tensor>> named_params() const;

 private:
  friend struct BlockCheckpoint;
  // One decoder block: x (B, T, C) -> (B, T, C); appends to cache->k/v[index] when given.
  torch::Tensor block_forward(size_t index, const torch::Tensor& x, const torch::Tensor& cos,
                              const torch::Tensor& sin, const torch::Tensor& mask, KVCache* cache);

  ModelConfig config_;
  bool grad_checkpoint_ = false;
  torch::nn::Embedding embed_{nullptr};
  struct Layer;
  std::vector<std::shared_ptr<torch::nn::Module>> layers_;
  torch::Tensor final_norm_;
  torch::Tensor lm_head_;  // undefined when tied
  torch::Tensor rope_cos_, rope_sin_;  // (max_seq_len, head_dim), HF layout cat(freqs, freqs); buffers
};
TORCH_MODULE(LlamaModel);

// The Hugging Face tensor names and shapes a config implies, in hf_tensors() order
// (checks weights without building a model).
std::vector<std::pair<std::string, std::vector<int64_t>>> hf_tensor_shapes(const ModelConfig& config);

}  // namespace prealign
