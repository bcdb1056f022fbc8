// Policy JSON -> state machine over tag ids. Every check names the file and the
// JSON path of the offending value, so a typo in a policy is a one-line fix.
#include "decode/policy.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.hpp"

namespace prealign {

// ---- TagVocabulary ----------------------------------------------------------

TagVocabulary TagVocabulary::of(const Tokenizer& tokenizer) {
  TagVocabulary v;
  v.vocab_size = tokenizer.vocab_size();
  v.eos_id = Tokenizer::kEos;
  for (int id : tokenizer.tag_ids()) v.tags.emplace_back(tokenizer.tag_name(id), id);
  return v;
}

static std::string known_tags_hint(const TagVocabulary& v) {
  if (v.tags.empty()) return "this vocabulary has no tags (train the tokenizer with a tagset)";
  std::string s = "known tags:";
  for (const auto& [name, id] : v.tags) s += " " + name;
  return s;
}

int TagVocabulary::id(const std::string& name, const std::string& where) const {
  for (const auto& [n, i] : tags)
    if (n == name) return i;
  fail(where, "unknown tag \"" + name + "\"", known_tags_hint(*this));
}

bool TagVocabulary::is_tag(int token) const {
  for (const auto& t : tags)
    if (t.second == token) return true;
  return false;
}

// ---- parsing helpers --------------------------------------------------------

namespace {

std::string idx(const std::string& where, size_t i) { return where + "[" + std::to_string(i) + "]"; }

void only_keys(const json& j, const std::set<std::string>& allowed, const std::string& where) {
  if (!j.is_object()) fail(where, std::string("expected a JSON object, found ") + j.type_name());
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (allowed.count(it.key())) continue;
    std::string known;
    for (const auto& k : allowed) known += (known.empty() ? "" : ", ") + k;
    fail(where, "unknown key \"" + it.key() + "\"", "known keys here: " + known);
  }
}

// An optional string field; any other type is an Error naming the path.
std::string opt_string(const json& j, const char* key, const std::string& fallback, const std::string& where) {
  if (!j.contains(key)) return fallback;
  if (!j.at(key).is_string()) fail(where, std::string("\"") + key + "\" must be a string");
  return j.at(key).get<std::string>();
}

std::string state_names(const std::vector<PolicyState>& states) {
  std::string s;
  for (const auto& st : states) s += (s.empty() ? "" : ", ") + st.name;
  return s;
}

std::string tag_name_of(const TagVocabulary& v, int id) {
  for (const auto& [n, i] : v.tags)
    if (i == id) return n;
  return "#" + std::to_string(id);
}

}  // namespace

// ---- Policy -----------------------------------------------------------------

int Policy::state_index(const std::string& name) const {
  for (size_t i = 0; i < states_.size(); ++i)
    if (states_[i].name == name) return static_cast<int>(i);
  fail("policy " + name_, "unknown state \"" + name + "\"", "states: " + state_names(states_));
}

namespace {

struct Parser {
  const TagVocabulary& vocab;
  std::string file;    // e.g. "policy.json"
  std::string prefix;  // "" for the file's policy, "policies.NAME." for another one

  std::string at(const std::string& path) const { return file + ": " + prefix + path; }

  int tag(const json& name, const std::string& path) const {
    if (!name.is_string()) fail(at(path), std::string("expected a tag name, found ") + name.type_name());
    return vocab.id(name.get<std::string>(), at(path));
  }

  int state(const std::vector<PolicyState>& states, const std::string& name, const std::string& path) const {
    for (size_t i = 0; i < states.size(); ++i)
      if (states[i].name == name) return static_cast<int>(i);
    fail(at(path), "unknown state \"" + name + "\"", "states of this policy: " + state_names(states));
  }

  // Two passes: names first (so transitions may point forward), then the allow maps.
  std::vector<PolicyState> states(const json& j) const {
    if (!j.is_object() || j.empty()) fail(at("states"), "expected a non-empty object of states");
    std::vector<PolicyState> out;
    for (auto it = j.begin(); it != j.end(); ++it) out.push_back(PolicyState{it.key(), {}, true, {}});
    for (auto& st : out) {
      const std::string path = "states." + st.name;
      const json& s = j.at(st.name);
      only_keys(s, {"allow", "end"}, at(path));
      if (s.contains("end")) {
        if (!s.at("end").is_boolean()) fail(at(path + ".end"), "expected true or false");
        st.end_allowed = s.at("end").get<bool>();
      }
      const json allow = s.value("allow", json::object());
      if (!allow.is_object()) fail(at(path + ".allow"), "expected an object {tag: next state}");
      for (auto a = allow.begin(); a != allow.end(); ++a) {
        if (!a.value().is_string()) fail(at(path + ".allow." + a.key()), "expected the name of the next state");
        const int t = tag(a.key(), path + ".allow");
        st.allowed[t] = state(out, a.value().get<std::string>(), path + ".allow." + a.key());
      }
      for (const auto& [name, id] : vocab.tags)
        if (!st.allowed.count(id)) st.banned.push_back(id);
      std::sort(st.banned.begin(), st.banned.end());
    }
    return out;
  }

  std::vector<TemptationRule> rules(const json& j) const {
    if (!j.is_array()) fail(at("temptation"), "expected an array of rules");
    std::vector<TemptationRule> out;
    for (size_t i = 0; i < j.size(); ++i) {
      const std::string path = idx("temptation", i);
      const json& r = j[i];
      only_keys(r, {"tag", "threshold", "action"}, at(path));
      TemptationRule rule;
      if (!r.contains("tag")) fail(at(path), "missing \"tag\"", "a tag name, a list of tag names, or \"total\"");
      const json& t = r.at("tag");
      if (t.is_string() && t.get<std::string>() == "total") {
        rule.label = "total";
      } else if (t.is_array() && !t.empty()) {
        for (size_t k = 0; k < t.size(); ++k) {
          rule.tags.push_back(tag(t[k], idx(path + ".tag", k)));
          rule.label += (k ? "+" : "") + t[k].get<std::string>();
        }
      } else {
        rule.tags.push_back(tag(t, path + ".tag"));
        rule.label = t.get<std::string>();
      }
      if (!r.contains("threshold") || !r.at("threshold").is_number())
        fail(at(path), "missing or non-numeric \"threshold\"", "a probability in [0, 1]");
      const json& th = r.at("threshold");
      rule.threshold = th.get<double>();
      if (!(rule.threshold >= 0.0 && rule.threshold <= 1.0))
        fail(at(path + ".threshold"), "threshold " + th.dump() + " is outside [0, 1]",
             "temptation is a probability; a rule fires when it exceeds the threshold");
      const std::string action = opt_string(r, "action", "flag", at(path));
      if (action == "flag") {
        rule.action = TemptationAction::Flag;
      } else if (action == "stop") {
        rule.action = TemptationAction::Stop;
      } else {
        fail(at(path + ".action"), "unknown action \"" + action + "\"", "use \"flag\" or \"stop\"");
      }
      out.push_back(std::move(rule));
    }
    return out;
  }

  // The forced start tags; each must be allowed in the state it is applied in.
  std::vector<int> start(const json& s, const std::vector<PolicyState>& states, int initial, bool* after_prompt) const {
    only_keys(s, {"tags", "position"}, at("start"));
    const std::string position = opt_string(s, "position", "before_prompt", at("start"));
    if (position != "before_prompt" && position != "after_prompt")
      fail(at("start.position"), "unknown position \"" + position + "\"", "use \"before_prompt\" or \"after_prompt\"");
    *after_prompt = position == "after_prompt";
    const json tags = s.value("tags", json::array());
    if (!tags.is_array()) fail(at("start.tags"), "expected an array of tag names");
    std::vector<int> out;
    int state = initial;
    for (size_t i = 0; i < tags.size(); ++i) {
      const int t = tag(tags[i], idx("start.tags", i));
      const PolicyState& st = states[static_cast<size_t>(state)];
      auto next = st.allowed.find(t);
      if (next == st.allowed.end()) {
        std::string allowed;
        for (const auto& [id, to] : st.allowed) allowed += " " + tag_name_of(vocab, id);
        fail(at(idx("start.tags", i)),
             "start tag " + tags[i].get<std::string>() + " is not allowed in state \"" + st.name + "\"",
             allowed.empty() ? "state \"" + st.name + "\" allows no tags"
                             : "state \"" + st.name + "\" allows:" + allowed);
      }
      out.push_back(t);
      state = next->second;
    }
    return out;
  }
};

}  // namespace

Policy Policy::load(const std::string& path, const TagVocabulary& vocab) {
  return from_json(read_json_file(path), vocab, path);
}

Policy Policy::from_json(const json& j, const TagVocabulary& vocab, const std::string& where) {
  Policy pol = parse_one(j, vocab, where, "");
  if (j.contains("policies")) {
    const json& others = j.at("policies");
    if (!others.is_object()) fail(where + ": policies", "expected an object {name: policy}");
    for (auto it = others.begin(); it != others.end(); ++it) {
      if (it.key() == pol.name_)
        fail(where + ": policies." + it.key(), "has the name of the file's own policy", "rules tell policies apart by name");
      pol.policies_.push_back(parse_one(it.value(), vocab, where, "policies." + it.key() + "."));
      pol.policies_.back().name_ = it.key();
    }
  }
  // Rules last: they name the states of every policy of the file.
  RuleScope scope;
  for (int m = 0; m < pol.members(); ++m) {
    std::vector<std::string> states;
    for (const PolicyState& st : pol.member(m).states_) states.push_back(st.name);
    scope.members.emplace_back(pol.member(m).name_, states);
  }
  std::set<std::string> labels;
  for (int m = 0; m < pol.members(); ++m) {
    Policy& p = m == 0 ? pol : pol.policies_[static_cast<size_t>(m - 1)];
    const std::string path = m == 0 ? "" : "policies." + p.name_ + ".";
    if (!p.source_.contains("rules")) continue;
    scope.self = m;
    p.rules_ = parse_policy_rules(p.source_.at("rules"), vocab, scope, vocab.vocab_size, where, path);
    for (size_t i = 0; i < p.rules_.size(); ++i)
      if (!labels.insert(p.rules_[i].label).second)
        fail(where + ": " + path + "rules[" + std::to_string(i) + "].label",
             "label \"" + p.rules_[i].label + "\" is used by another rule of this file",
             "labels name rules in records and stopped_by: give each its own");
  }
  return pol;
}

Policy Policy::parse_one(const json& j, const TagVocabulary& vocab, const std::string& where, const std::string& prefix) {
  Parser p{vocab, where, prefix};
  const bool top = prefix.empty();
  const std::string here = top ? where : where + ": " + prefix.substr(0, prefix.size() - 1);
  if (top) {
    only_keys(j, {"name", "description", "initial_state", "start", "states", "stop_tags", "bias", "temptation", "rules",
                  "policies"},
              here);
  } else {  // a policy a rule switches to mid-response: no start tags (they go before the prompt)
    only_keys(j, {"description", "initial_state", "states", "stop_tags", "bias", "temptation", "rules"}, here);
  }
  Policy pol;
  pol.source_ = j;
  pol.name_ = top ? opt_string(j, "name", "policy", where) : "";
  opt_string(j, "description", "", here);
  if (!j.contains("states")) fail(here, "missing \"states\"", "see docs/formats.md, section Policy");
  pol.states_ = p.states(j.at("states"));
  if (!j.contains("initial_state") || !j.at("initial_state").is_string())
    fail(here, "missing \"initial_state\" (the name of a state)", "states: " + state_names(pol.states_));
  pol.initial_ = p.state(pol.states_, j.at("initial_state").get<std::string>(), "initial_state");
  pol.eos_ = vocab.eos_id;
  pol.is_tag_.assign(static_cast<size_t>(std::max(vocab.vocab_size, 0)), 0);
  for (const auto& [name, id] : vocab.tags) {
    if (id < 0 || id >= vocab.vocab_size)
      fail(where, "tag \"" + name + "\" has id " + std::to_string(id) + " outside the vocabulary");
    pol.is_tag_[static_cast<size_t>(id)] = 1;
    pol.tag_names_[id] = name;
  }
  if (j.contains("start"))
    pol.start_tags_ = p.start(j.at("start"), pol.states_, pol.initial_, &pol.start_after_prompt_);
  if (j.contains("stop_tags")) {
    const json& s = j.at("stop_tags");
    if (!s.is_array()) fail(p.at("stop_tags"), "expected an array of tag names");
    for (size_t i = 0; i < s.size(); ++i) pol.stop_tags_.push_back(p.tag(s[i], idx("stop_tags", i)));
  }
  if (j.contains("bias")) {
    const json& b = j.at("bias");
    if (!b.is_object()) fail(p.at("bias"), "expected an object {tag: logit offset}");
    for (auto it = b.begin(); it != b.end(); ++it) {
      const int t = p.tag(it.key(), "bias");
      if (!it.value().is_number() || !std::isfinite(it.value().get<double>()))
        fail(p.at("bias." + it.key()), "expected a finite number (added to the tag's logit)");
      pol.bias_[t] = it.value().get<float>();
    }
  }
  if (j.contains("temptation")) pol.temptation_ = p.rules(j.at("temptation"));
  return pol;
}

Policy Policy::unrestricted(const TagVocabulary& vocab) {
  json allow = json::object();
  for (const auto& [name, id] : vocab.tags) allow[name] = "any";
  json j = {{"name", "unrestricted"},
            {"description", "every tag allowed everywhere (no policy)"},
            {"initial_state", "any"},
            {"states", {{"any", {{"allow", allow}, {"end", true}}}}}};
  return from_json(j, vocab, "unrestricted policy");
}

bool Policy::is_stop_tag(int token) const {
  return std::find(stop_tags_.begin(), stop_tags_.end(), token) != stop_tags_.end();
}

bool Policy::is_tag(int token) const {
  return token >= 0 && static_cast<size_t>(token) < is_tag_.size() && is_tag_[static_cast<size_t>(token)];
}

const std::string& Policy::tag_name(int token) const {
  auto it = tag_names_.find(token);
  if (it == tag_names_.end()) fail("policy " + name_, "token " + std::to_string(token) + " is not a tag");
  return it->second;
}

bool Policy::is_banned(int s, int token) const {
  const PolicyState& st = state(s);
  if (token == eos_) return !st.end_allowed;
  return is_tag(token) && !st.allowed.count(token);
}

int Policy::next_state(int s, int token) const {
  if (!is_tag(token)) return s;
  const PolicyState& st = state(s);
  auto it = st.allowed.find(token);
  if (it == st.allowed.end())
    fail("policy " + name_, "tag " + tag_name(token) + " is not allowed in state \"" + st.name + "\"",
         "only tokens the policy stage let through may be accepted");
  return it->second;
}

void Policy::add_bias(int token, float delta) {
  if (token < 0 || token >= vocab_size())
    fail("policy " + name_, "bias for token " + std::to_string(token) + ", outside the vocabulary");
  bias_[token] += delta;
  for (Policy& p : policies_) p.add_bias(token, delta);
}

bool same_watched_tags(const TemptationRule& a, const TemptationRule& b) {
  std::set<int> x(a.tags.begin(), a.tags.end()), y(b.tags.begin(), b.tags.end());
  return x == y;
}

void Policy::put_temptation_rule(const TemptationRule& rule) {
  for (Policy& p : policies_) p.put_temptation_rule(rule);
  for (TemptationRule& r : temptation_)
    if (same_watched_tags(r, rule) && r.action == rule.action) {
      r = rule;
      return;
    }
  temptation_.push_back(rule);
}

const Policy& Policy::member(int i) const {
  if (i == 0) return *this;
  if (i < 0 || i > static_cast<int>(policies_.size()))
    fail("policy " + name_, "no policy number " + std::to_string(i) + " in this file");
  return policies_[static_cast<size_t>(i - 1)];
}

bool Policy::has_rules() const {
  for (int m = 0; m < members(); ++m)
    if (!member(m).rules().empty()) return true;
  return false;
}

std::vector<int> Policy::reachable_states(int from) const {
  std::vector<char> seen(states_.size(), 0);
  std::vector<int> todo{from};
  seen.at(static_cast<size_t>(from)) = 1;
  while (!todo.empty()) {
    const int s = todo.back();
    todo.pop_back();
    for (const auto& [tag, next] : state(s).allowed)
      if (!is_stop_tag(tag) && !seen[static_cast<size_t>(next)]) {
        seen[static_cast<size_t>(next)] = 1;
        todo.push_back(next);
      }
  }
  std::vector<int> out;
  for (size_t i = 0; i < seen.size(); ++i)
    if (seen[i]) out.push_back(static_cast<int>(i));
  return out;
}

std::vector<TemptationRule> parse_temptation_rules(const json& j, const TagVocabulary& vocab,
                                                   const std::string& where) {
  return Parser{vocab, where, ""}.rules(j);
}

int Policy::state_after_start() const {
  int s = initial_;
  for (int t : start_tags_) s = next_state(s, t);
  return s;
}

}  // namespace prealign
