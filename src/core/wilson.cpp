#include "core/wilson.hpp"

#include <algorithm>
#include <cmath>

namespace prealign {

std::pair<double, double> wilson_bounds(uint64_t successes, uint64_t n, double z) {
  if (n == 0) return {0.0, 1.0};
  const double p = double(successes) / double(n), nn = double(n), z2 = z * z;
  const double centre = (p + z2 / (2 * nn)) / (1 + z2 / nn);
  const double half = z / (1 + z2 / nn) * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

}  // namespace prealign
