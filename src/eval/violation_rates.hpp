// Violation rates of a set of checked Python samples (eval/code_checks.hpp):
// each pycodestyle code per 1,000 characters, the codes summed by group
// (style / structure / other), and the share of samples that compile, each with
// a 95% interval. A rate is a ratio of sums over the samples (all violations /
// all characters, x1000), so its bootstrap resamples whole samples.
#pragma once
#include <cstdint>
#include <vector>

#include "core/json_io.hpp"
#include "eval/code_checks.hpp"

namespace prealign {

// {"checked", "unchecked", "chars", "compiles": {value, ci_low, ci_high, count}
// (Wilson), "groups": {group: {value, ci_low, ci_high, count}}, "per_1k_chars":
// {code: {value, ci_low, ci_high, count, group}}}; codes in code order.
ordered_json violation_rates(const std::vector<CodeCheck>& checks, int resamples = 1000, uint64_t seed = 1);

}  // namespace prealign
