// A checkpoint is a directory shaped like a Hugging Face Llama model:
//   config.json          LlamaForCausalLM config (+ "prealign" block)
//   model.safetensors    weights under HF names
//   tokenizer.model      SentencePiece model, tags as control symbols
//   tagset.json          the tags
//   policy.json          default decoding policy
//   train_state.json     step, tokens, data cursor, options, objective (to resume)
//   optimizer.safetensors  optimizer moments (to resume), optional
//   extra.safetensors    objective-owned weights (e.g. the AWR value head), optional
// It is written to a staging directory and published with one rename.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "core/json_io.hpp"
#include "model/llama.hpp"

namespace prealign {

struct CheckpointContents {
  ModelConfig config;
  std::vector<std::pair<std::string, torch::Tensor>> weights;    // HF names
  std::string tokenizer_model;                                   // serialized SentencePiece model
  json tagset;
  json policy = json::object();
  json train_state = json::object();
  std::vector<std::pair<std::string, torch::Tensor>> optimizer;  // may be empty
  std::vector<std::pair<std::string, torch::Tensor>> extra;      // may be empty
};

void save_checkpoint(const std::string& dir, const CheckpointContents& contents);

struct LoadedCheckpoint {
  std::string dir;
  ModelConfig config;
  LlamaModel model{nullptr};  // on the requested device, eval mode
  json tagset, policy, train_state;
  std::map<std::string, torch::Tensor> optimizer, extra;  // CPU
};

// Refuses (with an Error naming the file) a directory missing a file, a truncated
// or corrupted safetensors file, or weights that do not match config.json.
LoadedCheckpoint load_checkpoint(const std::string& dir, torch::Device device, bool load_optimizer = false);

}  // namespace prealign
