// Both policies are run side by side over the tags the candidate allows: a
// pair (base state, candidate configuration) per reachable point, so the check
// costs at most |base states| x |candidate states, all its policies| x |tags|.
// Candidate rules are taken to fire anywhere (a sound over-approximation: the
// check never needs to know when a model's temptation crosses a level).
#include "decode/policy_compare.hpp"

#include <map>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

namespace prealign {

namespace {

std::string tag_list(const Policy& p, const std::vector<int>& tags) {
  std::string s;
  for (int t : tags) s += (s.empty() ? "" : " ") + p.tag_name(t);
  return s.empty() ? "no tags" : s;
}

std::string number(double x) { return json(x).dump(); }

float bias_of(const Policy& p, int token) {
  auto it = p.bias().find(token);
  return it == p.bias().end() ? 0.f : it->second;
}

// A candidate configuration: (member, state) of the candidate's file, with
// how it was reached when a rule switched there ("" when no rule did).
struct Point {
  int base_state, member, state;
  bool operator<(const Point& o) const {
    return std::tie(base_state, member, state) < std::tie(o.base_state, o.member, o.state);
  }
};

std::string reached_by(const PolicyRule& rule, const Policy& target) {
  return " (reached when rule \"" + rule.label + "\" switches to policy \"" + target.name() + "\")";
}

// Both walked side by side over the tags the candidate allows; the candidate
// also follows every switch rule at every point (a rule may fire anywhere),
// while the deployment's policy, which has no rules, stays where the tags put
// it. `via` receives, for each candidate member reached, how.
std::string state_machine_loosening(const Policy& base, const Policy& cand, std::map<int, std::string>* via) {
  std::map<Point, std::string> seen;
  std::vector<Point> todo{{base.state_after_start(), 0, cand.state_after_start()}};
  seen[todo.front()] = "";
  (*via)[0] = "";
  while (!todo.empty()) {
    const Point at = todo.back();
    todo.pop_back();
    const std::string how = seen[at];
    const Policy& cp = cand.member(at.member);
    const PolicyState& bs = base.state(at.base_state);
    const PolicyState& cs = cp.state(at.state);
    const std::string where = " in state \"" + cs.name + "\"" +
                              (at.member ? " of policy \"" + cp.name() + "\"" + how : std::string()) +
                              ", where the deployment's policy (state \"" + bs.name + "\")";
    if (cs.end_allowed && !bs.end_allowed) return "it lets a response end" + where + " does not";
    auto visit = [&](const Point& next, const std::string& next_how) {
      if (seen.emplace(next, next_how).second) todo.push_back(next);
      via->emplace(next.member, next_how);
    };
    for (const auto& [tag, next] : cs.allowed) {
      if (base.is_banned(at.base_state, tag)) return "it allows " + cand.tag_name(tag) + where + " bans it";
      const bool base_stops = base.is_stop_tag(tag), cand_stops = cp.is_stop_tag(tag);
      if (base_stops && !cand_stops)
        return "it goes on after " + cand.tag_name(tag) + (at.member ? " in policy \"" + cp.name() + "\"" + how : "") +
               ", where the deployment's policy ends the response";
      if (base_stops || cand_stops) continue;
      visit({base.next_state(at.base_state, tag), at.member, next}, how);
    }
    for (const PolicyRule& r : cp.rules())
      if (r.action == RuleDo::Switch)
        visit({at.base_state, r.target, switch_state(cand, r, cs.name)}, reached_by(r, cand.member(r.target)));
  }
  return "";
}

// The highest bias a response under `cand` can give a tag or EOS: the
// policy's own plus every raise its rules can add (a rule without "repeat"
// fires once per response; one with it can raise without bound).
std::string bias_loosening(const Policy& base, const Policy& cand, bool count_rules) {
  std::vector<int> tokens{base.eos_id()};
  for (const auto& [id, name] : base.tags()) tokens.push_back(id);
  for (int t : tokens) {
    const std::string what = base.is_tag(t) ? base.tag_name(t) : std::string("the end of text");
    const float b = bias_of(base, t);
    float c = bias_of(cand, t);
    std::string by;
    for (const PolicyRule& r : count_rules ? cand.rules() : std::vector<PolicyRule>{})
      for (const auto& [token, delta] : r.bias) {
        if (token != t || !(delta > 0)) continue;
        if (r.repeat) return "its rule \"" + r.label + "\" can raise the bias of " + what + " without bound (it repeats)";
        c += delta;
        by = r.label;
      }
    if (!(c > b + 1e-6f)) continue;
    if (by.empty()) return "it raises the bias of " + what + " from " + number(b) + " to " + number(c);
    return "its rule \"" + by + "\" can raise the bias of " + what + " to " + number(c) + " (the deployment's: " +
           number(b) + ")";
  }
  return "";
}

std::string rule_loosening(const Policy& base, const Policy& cand) {
  for (const TemptationRule& r : base.temptation_rules()) {
    const char* action = r.action == TemptationAction::Stop ? "stop" : "flag";
    const TemptationRule* kept = nullptr;
    for (const TemptationRule& c : cand.temptation_rules())
      if (same_watched_tags(r, c) && c.action == r.action) kept = &c;
    if (!kept) return "it drops the temptation rule on " + r.label + " (action " + action + ")";
    if (kept->threshold > r.threshold)
      return "it raises the threshold of the temptation rule on " + r.label + " (action " + action + ") from " +
             number(r.threshold) + " to " + number(kept->threshold);
  }
  return "";
}

// The deployment's policy has rules: a candidate can only be compared with it
// rule for rule when it has the same policies, states and rules, so that every
// rule fires on the same tokens in both. Biases and temptation rules may differ.
std::string ruled_loosening(const Policy& base, const Policy& cand) {
  const std::string only = " (the deployment's policy has rules: a request may add biases and temptation rules to it, "
                           "not change its policies, states or rules)";
  if (cand.members() != base.members())
    return "it has " + std::to_string(cand.members()) + " policies where the deployment's has " +
           std::to_string(base.members()) + only;
  for (int m = 0; m < base.members(); ++m) {
    const Policy& bp = base.member(m);
    const Policy& cp = cand.member(m);
    const std::string which = "policy \"" + cp.name() + "\"";
    if (cp.name() != bp.name()) return which + " stands where the deployment has \"" + bp.name() + "\"" + only;
    bool same_states = cp.states().size() == bp.states().size() && cp.initial_state() == bp.initial_state();
    for (size_t s = 0; same_states && s < bp.states().size(); ++s) {
      const PolicyState &x = bp.states()[s], &y = cp.states()[s];
      same_states = x.name == y.name && x.allowed == y.allowed && x.end_allowed == y.end_allowed;
    }
    if (!same_states) return which + " has other states" + only;
    if (cp.stop_tags() != bp.stop_tags()) return which + " has other stop tags" + only;
    bool same_rules = cp.rules().size() == bp.rules().size();
    for (size_t i = 0; same_rules && i < bp.rules().size(); ++i) same_rules = cp.rules()[i].source == bp.rules()[i].source;
    if (!same_rules) return which + " has other rules" + only;
    for (auto check : {bias_loosening(bp, cp, false), rule_loosening(bp, cp)})
      if (!check.empty()) return m ? "in " + which + ", " + check : check;
  }
  return "";
}

}  // namespace

std::string how_policy_loosens(const Policy& base, const Policy& cand) {
  if (cand.start_tags() != base.start_tags() || cand.start_after_prompt() != base.start_after_prompt())
    return "it starts responses with " + tag_list(cand, cand.start_tags()) + (cand.start_after_prompt() ? " after" : " before") +
           " the prompt, the deployment's policy with " + tag_list(base, base.start_tags()) +
           (base.start_after_prompt() ? " after" : " before") + " it";
  if (base.has_rules()) return ruled_loosening(base, cand);
  std::map<int, std::string> via;  // candidate member -> how a response gets there
  std::string why = state_machine_loosening(base, cand, &via);
  if (!why.empty()) return why;
  for (const auto& [m, how] : via) {
    const Policy& cp = cand.member(m);
    for (const std::string& check : {bias_loosening(base, cp, true), rule_loosening(base, cp)})
      if (!check.empty()) return m ? "in policy \"" + cp.name() + "\"" + how + ", " + check : check;
  }
  return "";
}

}  // namespace prealign
