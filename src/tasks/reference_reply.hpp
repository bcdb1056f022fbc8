// A reply that solves a task as its verifier expects, built from the verifier
// spec (which holds the answer): the response half of supervised (prompt,
// response) pairs for seed-prompted fine-tuning (`prealign tasks pairs`,
// docs/sft.md). Families whose spec holds no answer (python: hidden tests
// only) have none.
#pragma once
#include <optional>
#include <string>

#include "tasks/task.hpp"

namespace prealign {

// "Answer: <answer>" for number/exact tasks; for system rules a reply that keeps
// the rule (lower case, a JSON object, the refusal phrase, the required first
// word, ...). nullopt when the spec holds no answer. The caller still verifies:
// an answer that cannot be written on one "Answer:" line fails its verifier.
std::optional<std::string> reference_reply(const TaskRecord& task);

}  // namespace prealign
