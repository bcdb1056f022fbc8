// Hand-built vocabularies and reference computations shared by the decode tests
// (no tokenizer needed: a TagVocabulary is just ids and names).
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "core/json_io.hpp"
#include "decode/policy.hpp"
#include "model/config.hpp"
#include "model/llama.hpp"
#include "test_util.hpp"

namespace prealign::testing {

constexpr int kGood = 4, kBad = 5, kAiOpen = 6, kAiClose = 7, kQuoteOpen = 8, kQuoteClose = 9;

// Every tag of both shipped tagsets, ids 4..9 as a tokenizer would assign them;
// the rest of the vocabulary is ordinary text.
inline TagVocabulary test_vocabulary(int vocab_size = 64) {
  TagVocabulary v;
  v.vocab_size = vocab_size;
  v.eos_id = 2;
  v.tags = {{"<|good|>", kGood},
            {"<|bad|>", kBad},
            {"<AI>", kAiOpen},
            {"</AI>", kAiClose},
            {"<AI_quoting_human>", kQuoteOpen},
            {"</AI_quoting_human>", kQuoteClose}};
  return v;
}

inline Policy shipped_policy(const std::string& name, const TagVocabulary& v) {
  return Policy::load(source_path("configs/policies/" + name + ".json"), v);
}

// Straightforward double-precision softmax, the reference for everything else.
inline std::vector<double> reference_softmax(const std::vector<float>& logits) {
  double m = -std::numeric_limits<double>::infinity();
  for (float l : logits) m = std::max(m, static_cast<double>(l));
  std::vector<double> p(logits.size(), 0.0);
  double sum = 0.0;
  for (size_t i = 0; i < logits.size(); ++i) sum += p[i] = std::exp(static_cast<double>(logits[i]) - m);
  for (double& x : p) x /= sum;
  return p;
}

// A random untied model in which every token's embedding shares one large
// direction u, so the final hidden state is close to u / rms(u) = 8u whatever
// the input. Output rows along u then raise a token's logit by about `boost`
// at every position; the other logits stay small and input-dependent.
inline LlamaModel steered_model(int vocab, const std::map<int, float>& boost, int ctx = 128, uint64_t seed = 1) {
  torch::manual_seed(seed);
  LlamaModel m(ModelConfig::parse("dim=64,layers=2,heads=4,hidden=128,tie=0,ctx=" + std::to_string(ctx), vocab));
  torch::NoGradGuard no_grad;
  torch::Tensor u = torch::randn({64});
  u = u / u.norm();                                            // (C)
  for (auto& [name, w] : m->hf_tensors()) {                    // views of the parameters
    if (name == "model.embed_tokens.weight") w.add_(u * 8.0);  // (V, C)
    if (name != "lm_head.weight") continue;
    for (const auto& [id, b] : boost) w[id].copy_(u * (b / 8.0f));  // h·row ≈ 8u·u·b/8 = b
  }
  m->eval();
  return m;
}

// A random model (grouped-query attention) with weights large enough that
// attention matters: a masking or position mistake changes the logits.
inline LlamaModel random_model(int vocab, int ctx, uint64_t seed) {
  torch::manual_seed(seed);
  LlamaModel m(
      ModelConfig::parse("dim=48,layers=2,heads=6,kv_heads=2,hidden=96,ctx=" + std::to_string(ctx), vocab));
  torch::NoGradGuard no_grad;
  for (auto& p : m->parameters())
    if (p.dim() == 2) p.normal_(0.0, 1.0 / std::sqrt(double(p.size(1))));
  m->eval();
  return m;
}

// Raw softmax of the last position from a full forward over `tokens`, no cache.
inline std::vector<double> full_forward_softmax(LlamaModel& m, const std::vector<int>& tokens) {
  torch::NoGradGuard no_grad;
  std::vector<int64_t> ids(tokens.begin(), tokens.end());
  torch::Tensor logits = m->forward(torch::tensor(ids).view({1, -1}));  // (1, T, V)
  torch::Tensor last = logits.index({0, -1}).contiguous();              // (V)
  return reference_softmax(std::vector<float>(last.data_ptr<float>(), last.data_ptr<float>() + last.numel()));
}

// A shipped policy with an edit applied to its JSON first.
inline Policy edited_policy(const std::string& name, const TagVocabulary& v, const std::function<void(json&)>& edit) {
  json j = read_json_file(source_path("configs/policies/" + name + ".json"));
  if (edit) edit(j);
  return Policy::from_json(j, v, name + ".json");
}

}  // namespace prealign::testing
