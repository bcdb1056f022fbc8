// Dynamic policy rules at run time: one RuleEngine per sequence, stepped by
// SequenceDecoder after each generated token. It reads what the token brought
// (temptation, monitor readings, text, state, count), fires the active
// policy's rules and acts on the sequence's PolicyStage: switch it to another
// policy of the file, add or drop biases, or say the response ends.
// Semantics (when a rule fires, when its action takes effect): docs/policies.md.
#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "decode/policy.hpp"
#include "decode/sampler.hpp"
#include "decode/temptation.hpp"

namespace prealign {

// One firing, as token records carry it: {"rule": label, "action": what it did}.
struct RuleFiring {
  std::string rule;
  std::string action;
};

// What the rules read from one generated token.
struct RuleObservation {
  const Temptation* temptation = nullptr;  // measured before the token, under the policy it was sampled with
  const std::vector<std::pair<std::string, float>>* monitor = nullptr;  // readings of attached monitors
  std::string_view text;                   // the token's text; "" for a tag (tags are not text)
  int state_before = 0, state_after = 0;   // in the policy the token was sampled with
  int generated = 0;                       // tokens of the response so far, this one included
};

struct RuleOutcome {
  std::vector<RuleFiring> fired;   // in firing order
  std::vector<std::string> flags;  // labels of fired "flag" rules
  std::string ended_by;            // label of the "end" rule that fired, "" if none
};

class RuleEngine {
 public:
  // `top` (the file's policy) must outlive the engine; `context` is what was
  // fed before generation (BOS, start tags, prompt): only trusted code puts
  // tags there, which is what "context_has" relies on.
  RuleEngine(const Policy& top, const std::vector<int>& context);

  // Before the first token, with `stage` bound to `top`: the context rules of
  // the policy decoding starts under. Their actions apply to the first token.
  RuleOutcome start(PolicyStage& stage);
  // After each token (chosen and accepted by the chain): the active policy's
  // rules in order. Actions apply from the next token on; a switch or an end
  // stops the evaluation for this token (a switch then runs the new policy's
  // context rules).
  RuleOutcome observe(const RuleObservation& token, PolicyStage& stage);

  int active() const { return active_; }  // as Policy::member numbers the policies
  const Policy& active_policy() const { return top_.member(active_); }

 private:
  bool act(const PolicyRule& rule, PolicyStage& stage, RuleOutcome& out);  // true: stop evaluating
  void activate(PolicyStage& stage, RuleOutcome& out);
  bool text_appeared(const std::string& needle) const;
  std::string token_name(int token) const;

  const Policy& top_;
  std::vector<int> context_tags_;       // sorted tag ids found in the context
  int active_ = 0;
  std::vector<std::vector<char>> fired_;  // [member][rule]: has fired (rules without "repeat" fire once)
  std::vector<int> streak_;             // [rule of the active policy]: consecutive tokens above the level
  std::string window_;                  // the end of the generated text, long enough for every "text" rule
  size_t new_bytes_ = 0;                // of window_, those the current token added
  size_t longest_text_ = 0;
};

}  // namespace prealign
