// What the page's policy picker shows (GET /v1/prealign/policy): the policy
// this deployment decodes under, whether it is locked, the policies a request
// may name (the shipped ones and "none") with whether each would be accepted
// here, and the model's tags, by id (a streamed token names its tag by id only).
#pragma once
#include <memory>

#include "core/json_io.hpp"
#include "decode/policy.hpp"

namespace prealign {

// {"name", "locked", "policy": <its JSON>, "shipped": [{"name", "policy", "usable", "problem"}],
//  "tags": [{"id", "name"}]}. A shipped policy is usable when a request naming it
// would pass request_policy (its tags exist in this model; under a lock, it does
// not loosen the deployment's policy); "problem" is then null, else that request's error.
json policy_catalog(const std::shared_ptr<const Policy>& deployed, const TagVocabulary& vocab, bool locked);

}  // namespace prealign
