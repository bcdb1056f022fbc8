// `prealign tasks verify`: every completion scored by the Verifier, then
// accuracy per family and per split with Wilson 95% intervals, and one verdict
// per completion (docs/tasks.md "Reports").
#pragma once
#include <string>
#include <vector>

#include "core/json_io.hpp"
#include "tasks/task.hpp"
#include "tasks/verifier.hpp"

namespace prealign {

// Wilson score interval for k successes of n at z (95%: 1.96); [0, 1] for n = 0.
std::pair<double, double> wilson_bounds(size_t k, size_t n, double z = 1.96);

// Scores `completions` (several per task allowed) on `jobs` threads. A
// completion whose id names no task is an Error naming its file:line; tasks
// without a completion are listed as missing and left out of the accuracies.
ordered_json verify_completions(const std::vector<TaskRecord>& tasks, const std::vector<Completion>& completions,
                                const Verifier& verifier, int jobs);

// A few lines for a terminal: accuracy per family.
std::string format_verify_report(const ordered_json& report);

}  // namespace prealign
