// The policy JSON parser (decode/policy.hpp) and the policy grammar read by
// lint (corpus/lint.hpp ModeGrammar), on the same text. A policy that loads
// must be usable: every state and tag answers is_banned / next_state within
// range, and the start tags lead to a state.
#include <cstdint>
#include <string>

#include "core/json_io.hpp"
#include "corpus/lint.hpp"
#include "decode/policy.hpp"
#include "fuzz_util.hpp"

using namespace prealign;

namespace {

TagVocabulary vocabulary() {
  TagVocabulary v;
  v.vocab_size = 16;
  v.tags = {{"<|good|>", 4}, {"<|bad|>", 5}, {"<AI>", 6}, {"</AI>", 7}, {"<AI_quoting_human>", 8},
            {"</AI_quoting_human>", 9}};
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  static const TagVocabulary vocab = vocabulary();
  fuzz::refusing_is_fine([&] {
    const json j = parse_json(text, "policy.json");
    fuzz::refusing_is_fine([&] { ModeGrammar::from_policy_json(j, "policy.json"); });
    const Policy p = Policy::from_json(j, vocab, "policy.json");
    const int states = static_cast<int>(p.states().size());
    fuzz::check(states > 0 && p.initial_state() >= 0 && p.initial_state() < states);
    const int start = p.state_after_start();
    fuzz::check(start >= 0 && start < states);
    for (int s = 0; s < states; ++s)
      for (int token = 0; token < vocab.vocab_size; ++token) {
        p.is_banned(s, token);
        const int next = p.next_state(s, token);
        fuzz::check(next >= 0 && next < states);
      }
  });
  return 0;
}
