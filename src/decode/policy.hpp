// The inference-time tag policy: a state machine over tags. In each state some
// tags are allowed (each leading to a next state); every other tag is banned.
// See docs/formats.md for the JSON and configs/policies/ for examples.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/json_io.hpp"
#include "decode/policy_rules.hpp"
#include "tokenizer/tokenizer.hpp"

namespace prealign {

enum class TemptationAction { Flag, Stop };

struct TemptationRule {
  std::vector<int> tags;  // token ids watched; empty = the sum over all banned tags
  std::string label;      // e.g. "</AI>" or "total"
  double threshold = 1.0;
  TemptationAction action = TemptationAction::Flag;
};
// Whether two rules watch the same set of tags (in any order).
bool same_watched_tags(const TemptationRule& a, const TemptationRule& b);

// What a policy needs to know of a vocabulary: the tag ids and EOS. Built from a
// Tokenizer in practice; tests build one by hand.
struct TagVocabulary {
  int vocab_size = 0;
  int eos_id = Tokenizer::kEos;
  std::vector<std::pair<std::string, int>> tags;  // (name, id)
  static TagVocabulary of(const Tokenizer& tokenizer);
  int id(const std::string& name, const std::string& where) const;  // Error "unknown tag"
  bool is_tag(int token) const;
};

struct PolicyState {
  std::string name;
  std::map<int, int> allowed;     // tag id -> next state index
  bool end_allowed = true;        // may EOS be generated in this state
  std::vector<int> banned;        // derived: every tag not in `allowed`, sorted
};

class Policy {
 public:
  static Policy load(const std::string& path, const TagVocabulary& vocab);
  static Policy from_json(const json& j, const TagVocabulary& vocab, const std::string& where);
  // No restrictions: every tag allowed everywhere, one state (for models without a policy).
  static Policy unrestricted(const TagVocabulary& vocab);
  const json& source() const { return source_; }  // as loaded, for policy.json in checkpoints

  const std::string& name() const { return name_; }
  int initial_state() const { return initial_; }
  const std::vector<int>& start_tags() const { return start_tags_; }
  bool start_after_prompt() const { return start_after_prompt_; }
  // Moves the start tags before or after the prompt (an evaluation's choice:
  // PHF put the aligned tag after function-signature prompts).
  void set_start_after_prompt(bool after) { start_after_prompt_ = after; }
  const std::vector<PolicyState>& states() const { return states_; }
  const PolicyState& state(int s) const { return states_.at(static_cast<size_t>(s)); }
  int state_index(const std::string& name) const;  // Error for an unknown state
  bool is_stop_tag(int token) const;
  const std::vector<int>& stop_tags() const { return stop_tags_; }
  bool is_tag(int token) const;
  const std::string& tag_name(int token) const;  // Error for a non-tag
  const std::map<int, std::string>& tags() const { return tag_names_; }  // id -> name, every vocabulary tag
  const std::map<int, float>& bias() const { return bias_; }
  int eos_id() const { return eos_; }
  int vocab_size() const { return static_cast<int>(is_tag_.size()); }
  const std::vector<TemptationRule>& temptation_rules() const { return temptation_; }

  // Dynamic rules (decode/policy_rules.hpp, docs/policies.md) and the policies
  // they switch between: member(0) is this policy, member(k) the k-th of the
  // file's "policies" (sorted by name). Only the file's top policy has members
  // beyond itself; rules of every member number them the same way.
  const std::vector<PolicyRule>& rules() const { return rules_; }
  int members() const { return 1 + static_cast<int>(policies_.size()); }
  const Policy& member(int i) const;  // Error outside [0, members())
  bool has_rules() const;             // does any member have rules

  // Per-request adjustments (serve/request_policy.hpp) on a copy of a loaded
  // policy, made to every member (a response keeps them across switches);
  // source() keeps the JSON the policy was loaded from.
  // Adds `delta` to the logit bias of any token (tag, EOS or text); like the
  // policy's own biases it applies only where the token is not banned.
  void add_bias(int token, float delta);
  // A rule watching the same tags with the same action replaces the existing
  // one (so its threshold can be changed); any other rule is added.
  void put_temptation_rule(const TemptationRule& rule);

  // The states a response can be in, from `from` on, following allowed tags
  // (stop tags end the response, so nothing is followed after them); sorted.
  std::vector<int> reachable_states(int from) const;

  // True if generating `token` in state `s` is forbidden (a tag not allowed there,
  // or EOS where end is not allowed). Ordinary text tokens are never banned.
  bool is_banned(int s, int token) const;
  // State after emitting `token` in state `s` (non-tags keep the state).
  int next_state(int s, int token) const;
  // State after the forced start tags, from the initial state.
  int state_after_start() const;

 private:
  // One policy object: the file's own ("prefix" "") or one of its "policies"
  // ("policies.NAME."), everything but the rules.
  static Policy parse_one(const json& j, const TagVocabulary& vocab, const std::string& where,
                          const std::string& prefix);

  json source_;
  std::string name_;
  int initial_ = 0;
  std::vector<int> start_tags_;
  bool start_after_prompt_ = false;
  std::vector<PolicyState> states_;
  std::vector<int> stop_tags_;
  std::map<int, float> bias_;
  std::vector<TemptationRule> temptation_;
  std::vector<PolicyRule> rules_;
  std::vector<Policy> policies_;  // the file's other policies (members 1..), in name order
  std::vector<char> is_tag_;  // by token id
  std::map<int, std::string> tag_names_;
  int eos_ = Tokenizer::kEos;
};

struct Temptation;  // decode/temptation.hpp

// The temptation rules that fire for one position: a rule watches the summed
// raw probability of its tags where they are banned (or the total over all
// banned tags) and fires when that value is strictly above its threshold.
struct FiredRules {
  std::vector<std::string> flags;  // labels of fired "flag" rules
  std::vector<std::string> stops;  // labels of fired "stop" rules
};
FiredRules check_temptation_rules(const Policy& policy, const Temptation& temptation);

// Temptation rules in the JSON form of a policy's "temptation" array, checked
// as Policy::from_json checks them (errors name `where` and the index).
std::vector<TemptationRule> parse_temptation_rules(const json& j, const TagVocabulary& vocab,
                                                   const std::string& where);

}  // namespace prealign
