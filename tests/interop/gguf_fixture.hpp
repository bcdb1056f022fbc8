// Checkpoints for the GGUF tests: a random (untrained) model around a small
// trained tokenizer, written with save_checkpoint as training would.
#pragma once
#include <string>
#include <vector>

#include "core/files.hpp"
#include "core/json_io.hpp"
#include "model/checkpoint.hpp"
#include "model/config.hpp"
#include "test_util.hpp"
#include "tokenizer/tagset.hpp"
#include "tokenizer/tokenizer.hpp"

namespace prealign::testing {

// A SentencePiece model (vocabulary 320, good_bad tags) trained once per process.
inline const std::string& small_tokenizer_model() {
  static const std::string bytes = [] {
    const std::string dir = temp_dir();
    std::vector<std::string> docs;
    for (int i = 0; i < 200; ++i)
      docs.push_back("def f" + std::to_string(i) + "(x):\n    return x * " + std::to_string(i % 7) +
                     "  # the quick brown fox jumps over the lazy dog\n");
    size_t next = 0;
    TokenizerTrainOptions o;
    o.vocab_size = 320;
    Tokenizer::train([&](std::string& d) { return next < docs.size() ? (d = docs[next++], true) : false; },
                     Tagset::load(source_path("configs/tagsets/good_bad.json")), o, dir + "/tokenizer.model");
    return read_file(dir + "/tokenizer.model");
  }();
  return bytes;
}

// A checkpoint at `dir` with random weights of the model `spec`
// (ModelConfig::parse syntax), the small tokenizer and the good_only policy.
inline ModelConfig random_checkpoint(const std::string& dir, const std::string& spec, uint64_t seed = 3) {
  const std::string tagset_path = source_path("configs/tagsets/good_bad.json");
  const Tokenizer tok =
      Tokenizer::from_serialized(small_tokenizer_model(), Tagset::load(tagset_path), "small tokenizer");
  torch::manual_seed(seed);
  CheckpointContents c;
  c.config = ModelConfig::parse(spec, tok.vocab_size());
  LlamaModel model(c.config);
  for (auto& [name, t] : model->hf_tensors()) {
    torch::NoGradGuard no_grad;
    if (name.find("norm") != std::string::npos) t.uniform_(0.5, 1.5);  // norms not all ones: a wrong map shows
    c.weights.emplace_back(name, t.clone());
  }
  c.tokenizer_model = small_tokenizer_model();
  c.tagset = read_json_file(tagset_path);
  c.policy = read_json_file(source_path("configs/policies/good_only.json"));
  save_checkpoint(dir, c);
  return c.config;
}

}  // namespace prealign::testing
