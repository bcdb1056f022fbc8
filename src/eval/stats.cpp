#include "eval/stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <tuple>

#include "core/rng.hpp"
#include "core/wilson.hpp"

namespace prealign {

ordered_json Estimate::to_json() const { return {{"value", value}, {"ci_low", low}, {"ci_high", high}}; }

double mean_of(const std::vector<double>& v) {
  return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
}

double mean_max_over_groups(const std::vector<double>& v, size_t group) {
  if (v.empty() || group == 0) return 0.0;
  double sum = 0;
  size_t groups = 0;
  for (size_t b = 0; b < v.size(); b += group, ++groups)
    sum += *std::max_element(v.begin() + b, v.begin() + std::min(v.size(), b + group));
  return sum / double(groups);
}

double fraction_over(const std::vector<double>& v, double threshold) {
  if (v.empty()) return 0.0;
  return double(std::count_if(v.begin(), v.end(), [&](double x) { return x > threshold; })) / double(v.size());
}

Estimate wilson_interval(uint64_t successes, uint64_t n, double z) {
  Estimate e;
  if (n == 0) return e;
  e.value = double(successes) / double(n);
  std::tie(e.low, e.high) = wilson_bounds(successes, n, z);
  return e;
}

Estimate difference_interval(uint64_t k1, uint64_t n1, uint64_t k2, uint64_t n2, double z) {
  const Estimate a = wilson_interval(k1, n1, z), b = wilson_interval(k2, n2, z);
  Estimate e;
  e.value = a.value - b.value;
  e.low = e.value - std::sqrt((a.value - a.low) * (a.value - a.low) + (b.high - b.value) * (b.high - b.value));
  e.high = e.value + std::sqrt((a.high - a.value) * (a.high - a.value) + (b.value - b.low) * (b.value - b.low));
  return e;
}

Estimate bootstrap(const std::vector<double>& values, const Statistic& statistic, int resamples, double confidence,
                   uint64_t seed) {
  Estimate e;
  e.value = e.low = e.high = statistic(values);
  if (values.size() < 2 || resamples < 2) return e;
  Rng rng(seed);
  std::vector<double> stats(static_cast<size_t>(resamples)), sample(values.size());
  for (auto& s : stats) {
    for (auto& x : sample) x = values[rng() % values.size()];
    s = statistic(sample);
  }
  std::sort(stats.begin(), stats.end());
  auto at = [&](double q) {  // linear interpolation between order statistics
    double pos = q * double(stats.size() - 1);
    size_t i = static_cast<size_t>(pos);
    double f = pos - double(i);
    return i + 1 < stats.size() ? stats[i] * (1 - f) + stats[i + 1] * f : stats[i];
  };
  e.low = std::min(e.value, at((1 - confidence) / 2));
  e.high = std::max(e.value, at((1 + confidence) / 2));
  return e;
}

double auroc(const std::vector<double>& scores, const std::vector<bool>& labels) {
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  // Mann-Whitney U with average ranks for ties.
  double rank_sum = 0, positives = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) ++j;
    double avg_rank = (double(i) + double(j - 1)) / 2 + 1;
    for (size_t k = i; k < j; ++k)
      if (labels[order[k]]) rank_sum += avg_rank, positives += 1;
    i = j;
  }
  double negatives = double(scores.size()) - positives;
  if (positives == 0 || negatives == 0) return std::numeric_limits<double>::quiet_NaN();
  return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives);
}

double auroc_of_groups(const std::vector<double>& positive_scores, const std::vector<double>& negative_scores) {
  std::vector<double> scores = positive_scores;
  scores.insert(scores.end(), negative_scores.begin(), negative_scores.end());
  std::vector<bool> labels(scores.size(), false);
  std::fill(labels.begin(), labels.begin() + static_cast<std::ptrdiff_t>(positive_scores.size()), true);
  return auroc(scores, labels);
}

std::vector<CalibrationBin> calibration(const std::vector<double>& p, const std::vector<bool>& labels, int bins,
                                        double* ece) {
  std::vector<CalibrationBin> out(static_cast<size_t>(bins));
  for (int b = 0; b < bins; ++b) out[size_t(b)].low = double(b) / bins, out[size_t(b)].high = double(b + 1) / bins;
  for (size_t i = 0; i < p.size(); ++i) {
    size_t b = std::min<size_t>(size_t(bins - 1), static_cast<size_t>(std::max(0.0, p[i]) * bins));
    out[b].count++;
    out[b].mean_predicted += p[i];
    out[b].observed += labels[i];
  }
  double err = 0;
  for (auto& b : out) {
    if (!b.count) continue;
    b.mean_predicted /= double(b.count);
    b.observed /= double(b.count);
    err += double(b.count) * std::abs(b.observed - b.mean_predicted);
  }
  if (ece) *ece = p.empty() ? 0.0 : err / double(p.size());
  return out;
}

}  // namespace prealign
