// The Wilson score interval of a proportion: one implementation for the
// torch-free task reports (tasks/report) and the evaluations (eval/stats).
#pragma once
#include <cstdint>
#include <utility>

namespace prealign {

// Bounds for `successes` of `n` at the normal quantile z (1.96: 95%); [0, 1]
// when n is 0. Unlike the normal (Wald) interval it stays informative at 0/n.
std::pair<double, double> wilson_bounds(uint64_t successes, uint64_t n, double z = 1.959963984540054);

}  // namespace prealign
