// The policy JSON parser (decode/policy.hpp, its rules: decode/policy_rules.hpp)
// and the policy grammar read by lint (corpus/lint.hpp ModeGrammar), on the
// same text. A policy that loads must be usable: every state and tag answers
// is_banned / next_state within range, the start tags lead to a state, every
// configuration its rules can reach is a real state, and stepping its rules
// over synthetic tokens keeps the sampler's policy stage in one.
#include <cstdint>
#include <string>

#include "core/json_io.hpp"
#include "corpus/lint.hpp"
#include "decode/policy.hpp"
#include "decode/rule_engine.hpp"
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

// Twelve synthetic tokens (text, then the first tag the state allows, in
// turn), with a rising monitor reading, through the policy's rules.
void step_rules(const Policy& p) {
  PolicyStage stage(p);
  stage.set_state(p.state_after_start());
  std::vector<int> context{1};
  context.insert(context.end(), p.start_tags().begin(), p.start_tags().end());
  context.push_back(6);  // as trusted code could put it there
  RuleEngine engine(p, context);
  engine.start(stage);
  for (int step = 0; step < 12; ++step) {
    const Policy& active = stage.policy();
    fuzz::check(&active == &p.member(engine.active()));
    const int state = stage.state();
    fuzz::check(state >= 0 && state < static_cast<int>(active.states().size()));
    int token = 12;
    if (step % 2 && !active.state(state).allowed.empty()) token = active.state(state).allowed.begin()->first;
    std::vector<float> logits(16, 0.f);
    logits[static_cast<size_t>(token)] = 1.f;
    const Temptation tempt = measure_temptation(logits.data(), 16, active.state(state).banned);
    stage.accept(token);
    const std::vector<std::pair<std::string, float>> monitor{{"probe_human", 0.1f * static_cast<float>(step)}};
    const RuleObservation seen{&tempt, &monitor, token == 12 ? "text " : "", state, stage.state(), step + 1};
    if (!engine.observe(seen, stage).ended_by.empty()) break;
  }
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
    for (const auto& [m, s] : reachable_configurations(p))
      fuzz::check(m >= 0 && m < p.members() && s >= 0 && s < static_cast<int>(p.member(m).states().size()));
    step_rules(p);
  });
  return 0;
}
