// Dynamic policy rules: a policy's "rules" array, read at every generated
// token, that switch the active policy, change logit biases or end the
// response. Parsed here with the policy (errors name the file, the rule index
// and the field, as the temptation rules' do); run per sequence by RuleEngine
// (decode/rule_engine.hpp); compared for --lock-policy in decode/policy_compare.
// Format and semantics: docs/policies.md. No libtorch here (the fuzz targets
// parse rules too).
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/json_io.hpp"

namespace prealign {

struct TagVocabulary;  // decode/policy.hpp
class Policy;

// What a rule watches ("when").
enum class RuleWhen {
  Temptation,   // temptation toward tags (or the total) above a level for K consecutive tokens
  Monitor,      // a monitor's reading (TokenRecord::monitor, e.g. a probe) above a level for K tokens
  AfterTokens,  // the response has N generated tokens
  EnterState,   // a generated tag moved the policy into a state (from another one)
  Text,         // a string appeared in the generated text (tags removed)
  ContextHas,   // the context fed before generation holds a tag (only trusted code puts tags there)
};

// What it does ("do").
enum class RuleDo { Switch, Bias, RemoveBias, End, Flag };

struct PolicyRule {
  std::string label;
  json source;          // the rule as written: --lock-policy compares rules by it
  bool repeat = false;  // fire at every new occurrence, not only the first

  RuleWhen when = RuleWhen::AfterTokens;
  std::vector<int> tags;    // Temptation: the watched tags; empty = the total over banned tags
  std::string watched;      // Temptation: "<a>+<b>" or "total"; Monitor: the reading's name; Text: the string
  double above = 0.0;       // Temptation, Monitor: fires when the value is strictly above
  int for_tokens = 1;       // Temptation, Monitor: that many consecutive tokens
  int after_tokens = 0;     // AfterTokens
  int state = -1;           // EnterState: a state of the rule's own policy
  int context_tag = -1;     // ContextHas

  RuleDo action = RuleDo::Flag;
  int target = -1;          // Switch: the policy switched to, as Policy::member numbers them
  int target_state = -1;    // Switch: its state, or -1: the state of the same name there, else its initial state
  std::vector<std::pair<int, float>> bias;  // Bias: token -> added to its logit bias
  std::vector<int> unbias;                  // RemoveBias: tokens whose rule-added bias is dropped
};

// The names a rule may refer to: every policy of the file (member 0 is the
// file's top policy, member k the k-th of its "policies") with its states, and
// which of them the rules belong to.
struct RuleScope {
  std::vector<std::pair<std::string, std::vector<std::string>>> members;  // (policy name, state names)
  int self = 0;
};

// The "rules" array of one policy; `where` is "<file>: " plus the JSON path of
// the policy ("" for the top one, "policies.NAME." for another). Errors name
// e.g. "policy.json: rules[2].when.above".
std::vector<PolicyRule> parse_policy_rules(const json& rules, const TagVocabulary& vocab, const RuleScope& scope,
                                           int vocab_size, const std::string& file, const std::string& path);

// The state a switch by `rule` lands in, from state `from_state` (a name of the
// policy it leaves): rule.target_state, else the target's state of that name,
// else the target's initial state.
int switch_state(const Policy& top, const PolicyRule& rule, const std::string& from_state);

// Every (member, state) a response under `top` can be in: from the state after
// the start tags, following the tags each state allows (stop tags end the
// response) and every switch rule, as if any rule could fire anywhere. Sorted.
std::vector<std::pair<int, int>> reachable_configurations(const Policy& top);

}  // namespace prealign
