// Whether one policy lets a response do something another forbids: what a
// deployment started with --lock-policy checks each request's policy against
// (serve/request_policy.hpp).
#pragma once
#include <string>

#include "decode/policy.hpp"

namespace prealign {

// "" when `candidate` is at least as strict as `base`: the same start tags; on
// every tag sequence a response under `candidate` can produce, no tag (or end)
// that `base` bans at that point and no going on past one of base's stop tags;
// no tag or EOS biased higher; every temptation rule of base kept with the
// same action at a threshold no higher. Otherwise the first difference found,
// as a phrase ("it allows <|bad|> in state ...").
//
// Dynamic rules (docs/policies.md): when `base` has none, the candidate's
// rules are taken to fire anywhere, so every policy a candidate rule can switch
// to must meet all of the above wherever it can be reached, and the biases
// its rules can add count (a repeating positive one is unbounded). When `base`
// has rules, the candidate must have the same policies, states, stop tags and
// rules (so every rule fires on the same tokens in both); only its biases and
// temptation rules may differ, each no looser.
std::string how_policy_loosens(const Policy& base, const Policy& candidate);

}  // namespace prealign
