// A small checkpoint for the server tests: a tokenizer trained on the spot with
// both shipped tagsets, a random model, and the ai_mode policy as its default.
#pragma once
#include <string>

#include "core/files.hpp"
#include "core/paths.hpp"
#include "model/checkpoint.hpp"
#include "test_util.hpp"
#include "tokenizer/tokenizer.hpp"

namespace prealign::testing {

// `ctx`: the model's context (longer ones let a test keep a request decoding
// for thousands of steps).
inline std::string make_serve_checkpoint(const std::string& dir, int ctx = 96) {
  Tagset tags = Tagset::merge({Tagset::load(find_shipped_file("configs/tagsets/good_bad.json")),
                               Tagset::load(find_shipped_file("configs/tagsets/ai_modes.json"))});
  TokenizerTrainOptions to;
  to.vocab_size = 400;
  int next = 0;
  make_directories(dir + "/tok");
  Tokenizer::train(
      [&](std::string& t) {
        if (next >= 400) return false;
        t = "The user asks question " + std::to_string(next) + " and the AI answers it helpfully.\n" +
            "def f" + std::to_string(next % 17) + "(x):\n    return x + 1\n";
        ++next;
        return true;
      },
      tags, to, dir + "/tok/tokenizer.model");
  Tokenizer tok = Tokenizer::load(dir + "/tok/tokenizer.model", tags);
  CheckpointContents c;
  c.config = ModelConfig::parse("dim=32,layers=2,heads=4,hidden=64,ctx=" + std::to_string(ctx), tok.vocab_size());
  torch::manual_seed(5);
  LlamaModel model(c.config);
  c.weights = model->hf_tensors();
  c.tokenizer_model = tok.serialized_model();
  c.tagset = tok.tagset().to_json();
  c.policy = read_json_file(find_shipped_file("configs/policies/ai_mode.json"));
  save_checkpoint(dir + "/ckpt", c);
  return dir + "/ckpt";
}

// One such checkpoint per test process, made on first use.
inline const std::string& shared_serve_checkpoint() {
  static const std::string path = make_serve_checkpoint(temp_dir());
  return path;
}

}  // namespace prealign::testing
