// Model shape, stored as a Hugging Face Llama config.json.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/json_io.hpp"

namespace prealign {

struct ModelConfig {
  int vocab_size = 4096;
  int dim = 256;          // hidden_size
  int n_layers = 4;       // num_hidden_layers
  int n_heads = 4;        // num_attention_heads
  int n_kv_heads = 4;     // num_key_value_heads (grouped-query attention when < n_heads)
  int hidden_dim = 0;     // intermediate_size; 0 = Llama rule from dim
  int max_seq_len = 256;  // max_position_embeddings
  double rope_theta = 10000.0;
  double norm_eps = 1e-5;
  bool tie_embeddings = true;
  // config.json's pad_token_id: <pad> of the tokenizer, -1 (written as null) when it
  // has none (imported Llama tokenizers). Not part of the model's shape.
  int pad_token_id = 3;

  // Presets, ~1M to ~25M parameters at vocab 4096: tiny, small, base, medium, large.
  static ModelConfig preset(const std::string& name, int vocab_size);
  static std::vector<std::string> preset_names();
  // "preset" or explicit "dim=256,layers=4,heads=4[,kv_heads=..,hidden=..,ctx=..,tie=0]".
  static ModelConfig parse(const std::string& spec, int vocab_size);

  int head_dim() const { return dim / n_heads; }
  int resolved_hidden_dim() const;  // hidden_dim, or the Llama rule (2/3 * 4 * dim, rounded up to 32)
  int64_t parameter_count() const;
  int64_t non_embedding_parameter_count() const;
  // Training FLOPs per token (forward + backward), PaLM appendix B: 6N + 12 L T d.
  double train_flops_per_token(int seq_len) const;
  void validate(const std::string& where) const;

  ordered_json to_hf_json() const;  // LlamaForCausalLM config.json
  static ModelConfig from_hf_json(const json& j, const std::string& where);
};

}  // namespace prealign
