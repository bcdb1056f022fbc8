// Dynamic rules tested without a model: a hand-built vocabulary with the tags
// of the seed-004 examples (configs/policies/customer_service.json,
// fiction.json), logits written by hand so the softmax puts a known mass on a
// tag, and a SequenceDecoder stepped over them.
#pragma once
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "decode/sequence_decoder.hpp"
#include "decode_fixture.hpp"

namespace prealign::testing {

constexpr int kAngry = 4, kAngryClose = 5, kRude = 6, kNsfw = 7, kNsfwClose = 8, kMature = 9, kFiction = 10;
constexpr int kRulesVocab = 32;
constexpr int kText = 20;  // the text token the logits below favour

inline TagVocabulary rules_vocabulary() {
  TagVocabulary v;
  v.vocab_size = kRulesVocab;
  v.eos_id = 2;
  v.tags = {{"<angry>", kAngry}, {"</angry>", kAngryClose}, {"<rude>", kRude},     {"<nsfw>", kNsfw},
            {"</nsfw>", kNsfwClose}, {"<mature>", kMature}, {"<fiction>", kFiction}};
  return v;
}

inline json policy_json(const std::string& name) { return read_json_file(source_path("configs/policies/" + name + ".json")); }

inline Policy rules_policy(const json& j, const std::string& where = "policy.json") {
  return Policy::from_json(j, rules_vocabulary(), where);
}

// Logits where `tag` has raw probability exactly `p` (up to float rounding of
// the logit), kText the largest of the others (logit 1), every other token 0.
inline std::vector<float> logits_with_mass(int tag, double p) {
  // p = e^a / (e^a + e + (V - 2)), solved for a.
  const double rest = std::exp(1.0) + (kRulesVocab - 2);
  std::vector<float> l(kRulesVocab, 0.f);
  l[kText] = 1.f;
  l[static_cast<size_t>(tag)] = static_cast<float>(std::log(p * rest / (1.0 - p)));
  return l;
}

inline std::string piece(int id) { return "t" + std::to_string(id) + " "; }

inline GenerateOptions greedy_options(int max_new_tokens = 64) {
  GenerateOptions o;
  o.greedy = true;
  o.temperature = 0;
  o.max_new_tokens = max_new_tokens;
  return o;
}

// Steps a fresh decoder over `steps` until it is done; its finished record.
inline Generation decode_steps(const Policy& policy, const std::vector<std::vector<float>>& steps,
                               const std::vector<int>& context = {1}, const GenerateOptions& o = greedy_options(),
                               const std::function<std::string(int)>& text = piece,
                               const std::function<void(size_t, TokenRecord&)>& monitor = nullptr) {
  SequenceDecoder d(policy, o, context, policy.state_after_start(), 7);
  for (size_t i = 0; i < steps.size() && !d.done(); ++i) {
    std::function<void(TokenRecord&)> m;
    if (monitor) m = [&, i](TokenRecord& r) { monitor(i, r); };
    d.step(steps[i], 4096, text, m);
  }
  return d.take();
}

}  // namespace prealign::testing
