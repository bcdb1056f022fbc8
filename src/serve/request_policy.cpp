#include "serve/request_policy.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/paths.hpp"
#include "decode/policy_compare.hpp"

namespace prealign {

namespace {

// An Error as one line for an HTTP error message (its hint after a semicolon).
std::string one_line(const Error& e) {
  std::string s = e.where().empty() ? e.problem() : e.where() + ": " + e.problem();
  return e.hint().empty() ? s : s + "; " + e.hint();
}

Policy named_policy(const std::string& name, const TagVocabulary& vocab) {
  if (name == "none") return Policy::unrestricted(vocab);
  // Only shipped names: a request must never make the server read a path it chooses.
  const std::vector<std::string> names = shipped_names(kPolicyFolder);
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    std::string known = "none";
    for (const auto& n : names) known += ", " + n;
    throw RequestError(400, "\"policy\": no shipped policy is named \"" + name + "\" (shipped: " + known +
                                "; or give a policy object)", "policy");
  }
  return Policy::load(find_shipped_file(std::string(kPolicyFolder) + "/" + name + ".json"), vocab);
}

// The size of a policy object: states, temptation rules and rules, counted
// over the policy and the ones its rules switch to, before any parsing.
void check_size(const json& j, const InlinePolicyLimits& limits) {
  size_t states = 0, temptation = 0, rules = 0;
  auto count = [&](const json& p) {
    if (!p.is_object()) return;
    if (p.contains("states") && p.at("states").is_object()) states += p.at("states").size();
    if (p.contains("temptation") && p.at("temptation").is_array()) temptation += p.at("temptation").size();
    if (p.contains("rules") && p.at("rules").is_array()) rules += p.at("rules").size();
  };
  count(j);
  if (j.contains("policies") && j.at("policies").is_object()) {
    if (j.at("policies").size() > limits.max_policies)
      throw RequestError(400, "\"policy.policies\" has " + std::to_string(j.at("policies").size()) +
                                  " policies, the limit is " + std::to_string(limits.max_policies), "policy");
    for (const json& p : j.at("policies")) count(p);
  }
  const auto over = [](const char* what, size_t n, size_t limit) {
    if (n > limit)
      throw RequestError(400, std::string("\"policy\" has ") + std::to_string(n) + " " + what + ", the limit is " +
                                  std::to_string(limit), "policy");
  };
  over("states", states, limits.max_states);
  over("temptation rules", temptation, limits.max_rules);
  over("rules", rules, limits.max_rules);
}

Policy inline_policy(const json& j, const TagVocabulary& vocab, const InlinePolicyLimits& limits) {
  const size_t bytes = j.dump().size();
  if (bytes > limits.max_bytes)
    throw RequestError(400, "\"policy\" is " + std::to_string(bytes) + " bytes of JSON, the limit is " +
                                std::to_string(limits.max_bytes), "policy");
  check_size(j, limits);
  return Policy::from_json(j, vocab, "policy");  // errors name "policy: <path>"
}

// A token the policy can ban: a tag, or EOS where a state does not allow the
// end; in any policy of the file a response can be switched to.
bool banned_wherever_reachable(const Policy& p, int token) {
  for (const auto& [member, state] : reachable_configurations(p))
    if (!p.member(member).is_banned(state, token)) return false;
  return true;
}

void add_logit_bias(Policy& p, const std::map<int, float>& bias) {
  for (const auto& [token, b] : bias) {
    if (token >= p.vocab_size())
      throw RequestError(400, "\"logit_bias\": token id " + std::to_string(token) + " is outside the vocabulary (" +
                                  std::to_string(p.vocab_size()) + " tokens)", "logit_bias");
    const bool policed = p.is_tag(token) || token == p.eos_id();
    if (policed && b > 0 && banned_wherever_reachable(p, token)) {
      const std::string what = p.is_tag(token) ? "the tag " + p.tag_name(token) : std::string("the end of text");
      throw RequestError(400, "\"logit_bias\": token " + std::to_string(token) + " is " + what + ", which policy \"" +
                                  p.name() + "\" bans in every state a response can reach; a bias cannot unban it "
                                  "(biases apply only where the policy allows the token: ask for a policy that does)",
                         "logit_bias");
    }
    p.add_bias(token, b);
  }
}

void check_lock(const Policy& deployed, const Policy& p, const char* field) {
  const std::string why = how_policy_loosens(deployed, p);
  if (why.empty()) return;
  throw RequestError(403, "\"" + std::string(field) + "\" would loosen this deployment's policy \"" + deployed.name() +
                              "\", which is locked (--lock-policy): " + why, field);
}

}  // namespace

std::shared_ptr<const Policy> request_policy(const PolicyRequest& r, const std::shared_ptr<const Policy>& deployed,
                                             const TagVocabulary& vocab, bool locked,
                                             const InlinePolicyLimits& limits) {
  if (r.policy.is_null() && r.logit_bias.empty() && r.temptation.is_null()) return deployed;
  const char* field = "policy";
  try {
    Policy p = *deployed;
    if (r.policy.is_string()) p = named_policy(r.policy.get<std::string>(), vocab);
    if (r.policy.is_object()) p = inline_policy(r.policy, vocab, limits);
    if (locked) check_lock(*deployed, p, field);
    field = "logit_bias";
    add_logit_bias(p, r.logit_bias);
    if (locked) check_lock(*deployed, p, field);
    field = "temptation";
    if (!r.temptation.is_null()) {
      if (!r.temptation.is_array() || r.temptation.size() > limits.max_rules)
        throw RequestError(400, "\"temptation\" must be an array of at most " + std::to_string(limits.max_rules) +
                                    " rules", "temptation");
      for (const TemptationRule& rule : parse_temptation_rules(r.temptation, vocab, "request"))
        p.put_temptation_rule(rule);
    }
    if (locked) check_lock(*deployed, p, field);
    return std::make_shared<const Policy>(std::move(p));
  } catch (const Error& e) {
    throw RequestError(400, one_line(e), field);
  }
}

}  // namespace prealign
