// config.json of a Hugging Face model directory, read for `prealign import hf`:
// only the Llama architecture (LlamaForCausalLM) is accepted, and every setting
// prealign's model does not implement is refused by name rather than ignored.
#pragma once
#include <string>

#include "model/config.hpp"

namespace prealign {

struct HfLlamaConfig {
  ModelConfig model;        // pad_token_id is left at -1: the tokenizer decides it
  std::string torch_dtype;  // as declared ("bfloat16", ...; "" if absent): informational
  std::string architecture; // "LlamaForCausalLM"
};

// Reads and checks `path` (a config.json); every refusal is an Error naming it
// and saying which setting and why.
HfLlamaConfig read_hf_llama_config(const std::string& path);

}  // namespace prealign
