#include "eval/auroc.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace prealign {

double auroc(const std::vector<double>& pos, const std::vector<double>& neg) {
  if (pos.empty() || neg.empty()) return std::numeric_limits<double>::quiet_NaN();
  // rank-sum over the pooled scores; tied scores share their average rank
  std::vector<std::pair<double, bool>> all;
  for (double s : pos) all.emplace_back(s, true);
  for (double s : neg) all.emplace_back(s, false);
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  double pos_rank_sum = 0;
  for (size_t i = 0; i < all.size();) {
    size_t j = i;
    while (j < all.size() && all[j].first == all[i].first) ++j;
    const double avg_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (size_t k = i; k < j; ++k)
      if (all[k].second) pos_rank_sum += avg_rank;
    i = j;
  }
  const double np = static_cast<double>(pos.size()), nn = static_cast<double>(neg.size());
  return (pos_rank_sum - np * (np + 1) / 2.0) / (np * nn);
}

}  // namespace prealign
