// A small checkpoint and task files for the RLVR tests: a tokenizer trained on
// the spot with both shipped tagsets, a random model (optionally with every
// tag's logit raised, so banned tags are tempting and would be sampled if the
// policy did not ban them), and a chosen shipped policy as its default.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/files.hpp"
#include "core/paths.hpp"
#include "model/checkpoint.hpp"
#include "tasks/task.hpp"
#include "test_util.hpp"
#include "tokenizer/tokenizer.hpp"

namespace prealign::testing {

inline Tokenizer rl_tokenizer(const std::string& dir) {
  Tagset tags = Tagset::merge({Tagset::load(find_shipped_file("configs/tagsets/good_bad.json")),
                               Tagset::load(find_shipped_file("configs/tagsets/ai_modes.json"))});
  TokenizerTrainOptions to;
  to.vocab_size = 340;
  int next = 0;
  make_directories(dir);
  Tokenizer::train(
      [&](std::string& t) {
        if (next >= 400) return false;
        t = "User: what is " + std::to_string(next % 13) + " plus " + std::to_string(next % 7) +
            "? Answer: " + std::to_string(next % 13 + next % 7) + "\nThe AI answers it helpfully.\n";
        ++next;
        return true;
      },
      tags, to, dir + "/tokenizer.model");
  return Tokenizer::load(dir + "/tokenizer.model", tags);
}

// `tag_boost` > 0 raises every tag's logit by about that much at every position
// (all embeddings share a large direction u, the output rows of tags point along it).
inline std::string make_rl_checkpoint(const std::string& dir, const std::string& policy = "ai_mode",
                                      float tag_boost = 0.f, uint64_t seed = 5) {
  Tokenizer tok = rl_tokenizer(dir + "/tok");
  CheckpointContents c;
  c.config = ModelConfig::parse("dim=32,layers=2,heads=4,hidden=64,tie=0,ctx=128", tok.vocab_size());
  torch::manual_seed(seed);
  LlamaModel model(c.config);
  if (tag_boost > 0) {
    torch::NoGradGuard no_grad;
    torch::Tensor u = torch::randn({32});
    u = u / u.norm();                                            // (C)
    for (auto& [name, w] : model->hf_tensors()) {                // views of the parameters
      if (name == "model.embed_tokens.weight") w.add_(u * 8.0);  // (V, C)
      if (name == "lm_head.weight")
        for (int id : tok.tag_ids()) w[id].add_(u * (tag_boost / 8.0f));
    }
  }
  c.weights = model->hf_tensors();
  c.tokenizer_model = tok.serialized_model();
  c.tagset = tok.tagset().to_json();
  c.policy = read_json_file(find_shipped_file("configs/policies/" + policy + ".json"));
  save_checkpoint(dir + "/ckpt", c);
  return dir + "/ckpt";
}

// Tasks whose answer is the number `answer`, asked `n` ways.
inline std::vector<TaskRecord> number_tasks(int n, int answer, const std::string& split = "train") {
  std::vector<TaskRecord> out;
  for (int i = 0; i < n; ++i) {
    TaskRecord t;
    t.id = "easy-" + std::to_string(i);
    t.family = "arithmetic";
    t.variant = "add";
    t.split = split;
    t.seed = static_cast<uint64_t>(i);
    t.prompt = "what is " + std::to_string(i % 5) + " plus " + std::to_string(answer - i % 5) + "?";
    t.verifier = {{"type", "number"}, {"answer", answer}};
    out.push_back(t);
  }
  return out;
}

}  // namespace prealign::testing
