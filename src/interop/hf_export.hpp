// `prealign export hf`: a prealign checkpoint -> a Hugging Face model directory
// that transformers loads as LlamaForCausalLM + LlamaTokenizer without conversion:
//   config.json              LlamaForCausalLM keys, torch_dtype, bos/eos/pad ids
//   model.safetensors        the weights under their Hugging Face names
//   tokenizer.model          the SentencePiece model, tags as control pieces
//   tokenizer_config.json    } interop/hf_tokenizer_files.hpp
//   special_tokens_map.json  }
//   generation_config.json   bos/eos/pad, bad_words_ids = the tags the policy bans
//                            in every state, and a "prealign" block: the policy's
//                            start tags (ids and where they go) and the tag ids
// Left out: optimizer.safetensors, train_state.json and extra.safetensors (they
// resume training; no Hugging Face consumer reads them), tagset.json, policy.json.
// Written through a staging directory and published with one rename.
#pragma once
#include <string>

#include "core/json_io.hpp"
#include "decode/policy.hpp"
#include "model/config.hpp"

namespace prealign {

struct HfExportOptions {
  std::string dtype = "f32";  // of model.safetensors: f32 | bf16 | f16
  bool force = false;         // replace an existing output directory
};

void export_hf(const std::string& checkpoint, const std::string& out, const HfExportOptions& options = {});

// The parts, for tests and for the GGUF export's metadata.
ordered_json hf_generation_config(const ModelConfig& config, const Tokenizer& tok, const Policy& policy);

}  // namespace prealign
