// Policy rules JSON -> PolicyRule, every check naming the file and the JSON path
// of the offending value ("policy.json: rules[1].when.above: ..."), and the
// static views of rules that the lock and request checks need.
#include "decode/policy_rules.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.hpp"
#include "decode/policy.hpp"

namespace prealign {

namespace {

constexpr size_t kMaxLabelBytes = 200;
constexpr size_t kMaxTextBytes = 1024;
constexpr int kMaxCount = 1 << 20;  // after_tokens and "for": beyond any context

const char* const kConditions = "temptation, monitor, after_tokens, enter_state, text, context_has";
const char* const kActions = "switch, bias, remove_bias, end, flag";

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

struct RuleParser {
  const TagVocabulary& vocab;
  const RuleScope& scope;
  int vocab_size;
  std::string file;

  std::string at(const std::string& path) const { return file + ": " + path; }

  void only_keys(const json& j, const std::set<std::string>& allowed, const std::string& path) const {
    if (!j.is_object()) fail(at(path), std::string("expected a JSON object, found ") + j.type_name());
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (allowed.count(it.key())) continue;
      fail(at(path), "unknown key \"" + it.key() + "\"",
           "known keys here: " + join(std::vector<std::string>(allowed.begin(), allowed.end())));
    }
  }

  // The one key of `j` among `kinds`; an Error when none or several are given.
  std::string one_of(const json& j, const std::vector<std::string>& kinds, const char* noun, const char* list,
                     const std::string& path) const {
    std::string found;
    for (const auto& k : kinds) {
      if (!j.contains(k)) continue;
      if (!found.empty()) fail(at(path), "both \"" + found + "\" and \"" + k + "\": give one", std::string("one of: ") + list);
      found = k;
    }
    if (found.empty()) fail(at(path), std::string("no ") + noun + " given", std::string("give one of: ") + list);
    return found;
  }

  int tag(const json& name, const std::string& path) const {
    if (!name.is_string()) fail(at(path), std::string("expected a tag name, found ") + name.type_name());
    return vocab.id(name.get<std::string>(), at(path));
  }

  // A tag name, or a token id as a decimal string (as OpenAI's logit_bias keys).
  int token(const std::string& key, const std::string& path) const {
    for (const auto& [name, id] : vocab.tags)
      if (name == key) return id;
    const bool digits = !key.empty() && key.size() <= 9 &&
                        std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) return vocab.id(key, at(path));  // the "unknown tag" error, listing the tags
    const int id = std::stoi(key);
    if (id >= vocab_size)
      fail(at(path), "token id " + key + " is outside the vocabulary (" + std::to_string(vocab_size) + " tokens)");
    return id;
  }

  int count(const json& j, const char* key, const std::string& path) const {
    const std::string p = path + "." + key;
    if (!j.at(key).is_number_integer() && !j.at(key).is_number_unsigned())
      fail(at(p), "expected a whole number of tokens, found " + j.at(key).dump());
    const json& v = j.at(key);
    const int64_t n = v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(kMaxCount) ? kMaxCount + 1 : v.get<int64_t>();
    if (n < 1 || n > kMaxCount) fail(at(p), v.dump() + " is outside [1, " + std::to_string(kMaxCount) + "]");
    return static_cast<int>(n);
  }

  int state_in(const std::vector<std::string>& states, const json& name, const std::string& path,
               const std::string& whose) const {
    if (!name.is_string()) fail(at(path), std::string("expected the name of a state, found ") + name.type_name());
    const auto it = std::find(states.begin(), states.end(), name.get<std::string>());
    if (it == states.end())
      fail(at(path), "unknown state \"" + name.get<std::string>() + "\"", "states of " + whose + ": " + join(states));
    return static_cast<int>(it - states.begin());
  }

  void level(const json& w, PolicyRule& r, const std::string& path, bool probability) const {
    if (!w.contains("above") || !w.at("above").is_number())
      fail(at(path), "missing or non-numeric \"above\"",
           probability ? "a probability in [0, 1]: the rule fires while the value is strictly above it"
                       : "the level the reading must be strictly above");
    r.above = w.at("above").get<double>();
    if (!std::isfinite(r.above) || (probability && !(r.above >= 0.0 && r.above <= 1.0)))
      fail(at(path + ".above"), w.at("above").dump() + (probability ? " is outside [0, 1]" : " is not a finite number"),
           probability ? "temptation is a probability" : "");
    r.for_tokens = w.contains("for") ? count(w, "for", path) : 1;
  }

  void when(const json& w, PolicyRule& r, const std::string& path) const {
    const std::string kind =
        one_of(w, {"temptation", "monitor", "after_tokens", "enter_state", "text", "context_has"}, "condition",
               kConditions, path);
    const std::string p = path + "." + kind;
    const json& v = w.at(kind);
    const bool leveled = kind == "temptation" || kind == "monitor";
    only_keys(w, leveled ? std::set<std::string>{kind, "above", "for"} : std::set<std::string>{kind}, path);
    if (kind == "temptation") {
      r.when = RuleWhen::Temptation;
      if (v.is_string() && v.get<std::string>() == "total") {
        r.watched = "total";
      } else if (v.is_array() && !v.empty()) {
        for (size_t k = 0; k < v.size(); ++k) {
          r.tags.push_back(tag(v[k], p + "[" + std::to_string(k) + "]"));
          r.watched += (k ? "+" : "") + v[k].get<std::string>();
        }
      } else {
        r.tags.push_back(tag(v, p));
        r.watched = v.get<std::string>();
      }
    } else if (kind == "monitor") {
      r.when = RuleWhen::Monitor;
      if (!v.is_string() || v.get<std::string>().empty())
        fail(at(p), "expected the name of a monitor reading", "e.g. \"probe_human\" (generate --probe)");
      r.watched = v.get<std::string>();
    } else if (kind == "after_tokens") {
      r.when = RuleWhen::AfterTokens;
      r.after_tokens = count(w, "after_tokens", path);
    } else if (kind == "enter_state") {
      r.when = RuleWhen::EnterState;
      r.state = state_in(scope.members.at(static_cast<size_t>(scope.self)).second, v, p, "this policy");
    } else if (kind == "text") {
      r.when = RuleWhen::Text;
      if (!v.is_string() || v.get<std::string>().empty() || v.get<std::string>().size() > kMaxTextBytes)
        fail(at(p), "expected a non-empty string of at most " + std::to_string(kMaxTextBytes) + " bytes");
      r.watched = v.get<std::string>();
    } else {
      r.when = RuleWhen::ContextHas;
      r.context_tag = tag(v, p);
    }
    if (leveled) level(w, r, path, kind == "temptation");  // after what it watches, so errors come in reading order
  }

  void action(const json& d, PolicyRule& r, const std::string& path) const {
    const std::string kind = one_of(d, {"switch", "bias", "remove_bias", "end", "flag"}, "action", kActions, path);
    const std::string p = path + "." + kind;
    const json& v = d.at(kind);
    only_keys(d, kind == "switch" ? std::set<std::string>{"switch", "state"} : std::set<std::string>{kind}, path);
    if (kind == "switch") {
      r.action = RuleDo::Switch;
      if (!v.is_string()) fail(at(p), "expected the name of a policy of this file");
      std::vector<std::string> names;
      for (const auto& m : scope.members) names.push_back(m.first);
      const auto it = std::find(names.begin(), names.end(), v.get<std::string>());
      if (it == names.end())
        fail(at(p), "unknown policy \"" + v.get<std::string>() + "\"",
             "a rule switches to the file's own policy or one of its \"policies\": " + join(names));
      r.target = static_cast<int>(it - names.begin());
      if (r.target == scope.self) fail(at(p), "switches to the policy it belongs to", "name another policy of the file");
      if (d.contains("state"))
        r.target_state = state_in(scope.members[static_cast<size_t>(r.target)].second, d.at("state"), path + ".state",
                                  "policy \"" + v.get<std::string>() + "\"");
    } else if (kind == "bias") {
      r.action = RuleDo::Bias;
      if (!v.is_object() || v.empty()) fail(at(p), "expected a non-empty object {tag or token id: logit offset}");
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!it.value().is_number() || !std::isfinite(it.value().get<double>()) ||
            std::fabs(it.value().get<double>()) > 100.0)
          fail(at(p + "." + it.key()), "expected a number in [-100, 100] (added to the token's logit bias)");
        r.bias.emplace_back(token(it.key(), p), it.value().get<float>());
      }
    } else if (kind == "remove_bias") {
      r.action = RuleDo::RemoveBias;
      if (!v.is_array() || v.empty()) fail(at(p), "expected a non-empty array of tags or token ids");
      for (size_t k = 0; k < v.size(); ++k) {
        const std::string pk = p + "[" + std::to_string(k) + "]";
        if (!v[k].is_string()) fail(at(pk), "expected a tag name or a token id as a string");
        r.unbias.push_back(token(v[k].get<std::string>(), pk));
      }
    } else {
      r.action = kind == "end" ? RuleDo::End : RuleDo::Flag;
      if (v != json(true)) fail(at(p), "expected true");
    }
  }

  PolicyRule rule(const json& j, const std::string& path) const {
    only_keys(j, {"label", "when", "do", "repeat"}, path);
    PolicyRule r;
    r.source = j;
    if (!j.contains("label") || !j.at("label").is_string() || j.at("label").get<std::string>().empty() ||
        j.at("label").get<std::string>().size() > kMaxLabelBytes)
      fail(at(path + ".label"), "missing, or not a non-empty string of at most 200 bytes",
           "the label names the rule in token records and in stopped_by");
    r.label = j.at("label").get<std::string>();
    if (!j.contains("when")) fail(at(path), "missing \"when\"", std::string("one condition of: ") + kConditions);
    if (!j.contains("do")) fail(at(path), "missing \"do\"", std::string("one action of: ") + kActions);
    when(j.at("when"), r, path + ".when");
    action(j.at("do"), r, path + ".do");
    if (j.contains("repeat")) {
      if (!j.at("repeat").is_boolean()) fail(at(path + ".repeat"), "expected true or false");
      r.repeat = j.at("repeat").get<bool>();
    }
    if (r.repeat && (r.when == RuleWhen::AfterTokens || r.when == RuleWhen::ContextHas))
      fail(at(path + ".repeat"), "this condition happens once per response", "remove \"repeat\"");
    if (r.when == RuleWhen::ContextHas && r.action == RuleDo::End)
      fail(at(path + ".do.end"), "a context condition is known before anything is generated: ending there leaves an "
                                 "empty response",
           "decide that before decoding, or switch to a policy that allows less");
    return r;
  }
};

}  // namespace

std::vector<PolicyRule> parse_policy_rules(const json& rules, const TagVocabulary& vocab, const RuleScope& scope,
                                           int vocab_size, const std::string& file, const std::string& path) {
  RuleParser p{vocab, scope, vocab_size, file};
  if (!rules.is_array()) fail(p.at(path + "rules"), "expected an array of rules");
  std::vector<PolicyRule> out;
  std::set<std::string> labels;
  for (size_t i = 0; i < rules.size(); ++i) {
    const std::string here = path + "rules[" + std::to_string(i) + "]";
    out.push_back(p.rule(rules[i], here));
    if (!labels.insert(out.back().label).second)
      fail(p.at(here + ".label"), "label \"" + out.back().label + "\" is used by an earlier rule",
           "labels name rules in records: give each its own");
  }
  return out;
}

int switch_state(const Policy& top, const PolicyRule& rule, const std::string& from_state) {
  const Policy& target = top.member(rule.target);
  if (rule.target_state >= 0) return rule.target_state;
  for (size_t i = 0; i < target.states().size(); ++i)
    if (target.states()[i].name == from_state) return static_cast<int>(i);
  return target.initial_state();
}

std::vector<std::pair<int, int>> reachable_configurations(const Policy& top) {
  std::set<std::pair<int, int>> seen{{0, top.state_after_start()}};
  std::vector<std::pair<int, int>> todo(seen.begin(), seen.end());
  while (!todo.empty()) {
    const auto [m, s] = todo.back();
    todo.pop_back();
    const Policy& p = top.member(m);
    auto visit = [&](int member, int state) {
      if (seen.insert({member, state}).second) todo.push_back({member, state});
    };
    for (const auto& [tag, next] : p.state(s).allowed)
      if (!p.is_stop_tag(tag)) visit(m, next);
    for (const PolicyRule& r : p.rules())
      if (r.action == RuleDo::Switch) visit(r.target, switch_state(top, r, p.state(s).name));
  }
  return {seen.begin(), seen.end()};
}

}  // namespace prealign
