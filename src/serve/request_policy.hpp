// The policy one request is decoded under: the deployment's, or the shipped
// policy it names, or the policy object it gives, with its "logit_bias" and
// "temptation" rules on top. The result belongs to the request (all its
// sequences decode under it), so requests never change each other's policy.
// No libtorch here: the fuzz target (fuzz/openai_request.cpp) runs it too.
#pragma once
#include <cstddef>
#include <memory>

#include "decode/policy.hpp"
#include "serve/openai_request.hpp"

namespace prealign {

// What an inline policy may hold: parsing and comparing it costs time in its
// size, states and rules, and it arrives with every request.
struct InlinePolicyLimits {
  size_t max_bytes = 64 << 10;  // the policy object as compact JSON
  size_t max_states = 256;     // over the policy and the policies its rules switch to
  size_t max_rules = 64;        // temptation rules (of the policy or of the request), and dynamic rules
  size_t max_policies = 16;     // policies its rules switch to ("policies")
};

// `deployed` itself when the request asks for nothing. RequestError naming
// "policy", "logit_bias" or "temptation": 400 for an unknown name, an invalid
// policy or rule, or a positive bias on a tag (or EOS) that the policy bans in
// every state a response can reach, in any policy its rules can switch to (a
// bias cannot unban: say so rather than accept it and change nothing); 403
// when `locked` and the field makes the policy looser than `deployed`
// (decode/policy_compare.hpp says how, dynamic rules included). logit_bias and
// temptation rules apply to every policy of the file (they hold across switches).
std::shared_ptr<const Policy> request_policy(const PolicyRequest& request,
                                             const std::shared_ptr<const Policy>& deployed,
                                             const TagVocabulary& vocab, bool locked,
                                             const InlinePolicyLimits& limits = {});

}  // namespace prealign
