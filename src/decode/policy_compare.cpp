// Both policies are run side by side over the tags the candidate allows: a
// pair (base state, candidate state) per reachable point, so the check costs
// at most |states| x |states| x |tags|.
#include "decode/policy_compare.hpp"

#include <set>
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

std::string state_machine_loosening(const Policy& base, const Policy& cand) {
  std::set<std::pair<int, int>> seen;
  std::vector<std::pair<int, int>> todo{{base.state_after_start(), cand.state_after_start()}};
  seen.insert(todo.front());
  while (!todo.empty()) {
    const auto [b, c] = todo.back();
    todo.pop_back();
    const PolicyState& bs = base.state(b);
    const PolicyState& cs = cand.state(c);
    const std::string where = " in state \"" + cs.name + "\", where the deployment's policy (state \"" + bs.name + "\")";
    if (cs.end_allowed && !bs.end_allowed) return "it lets a response end" + where + " does not";
    for (const auto& [tag, next] : cs.allowed) {
      if (base.is_banned(b, tag)) return "it allows " + cand.tag_name(tag) + where + " bans it";
      const bool base_stops = base.is_stop_tag(tag), cand_stops = cand.is_stop_tag(tag);
      if (base_stops && !cand_stops)
        return "it goes on after " + cand.tag_name(tag) + ", where the deployment's policy ends the response";
      if (base_stops || cand_stops) continue;
      const std::pair<int, int> pair{base.next_state(b, tag), next};
      if (seen.insert(pair).second) todo.push_back(pair);
    }
  }
  return "";
}

std::string bias_loosening(const Policy& base, const Policy& cand) {
  std::vector<int> tokens{base.eos_id()};
  for (const auto& [id, name] : base.tags()) tokens.push_back(id);
  for (int t : tokens) {
    const float b = bias_of(base, t), c = bias_of(cand, t);
    if (c > b + 1e-6f)
      return "it raises the bias of " + (base.is_tag(t) ? base.tag_name(t) : std::string("the end of text")) +
             " from " + number(b) + " to " + number(c);
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

}  // namespace

std::string how_policy_loosens(const Policy& base, const Policy& cand) {
  if (cand.start_tags() != base.start_tags() || cand.start_after_prompt() != base.start_after_prompt())
    return "it starts responses with " + tag_list(cand, cand.start_tags()) + (cand.start_after_prompt() ? " after" : " before") +
           " the prompt, the deployment's policy with " + tag_list(base, base.start_tags()) +
           (base.start_after_prompt() ? " after" : " before") + " it";
  for (auto check : {state_machine_loosening, bias_loosening, rule_loosening}) {
    std::string why = check(base, cand);
    if (!why.empty()) return why;
  }
  return "";
}

}  // namespace prealign
