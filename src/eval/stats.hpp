// Statistics of evaluations: bootstrap confidence intervals, the PHF
// "expected maximum" (mean of the max over groups of samples), AUROC and
// calibration bins.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "core/json_io.hpp"

namespace prealign {

struct Estimate {
  double value = 0, low = 0, high = 0;  // point estimate and bootstrap interval
  ordered_json to_json() const;
};

using Statistic = std::function<double(const std::vector<double>&)>;

// The Wilson score interval of a proportion: `successes` of `n` at the normal
// quantile z (1.96: 95%). Unlike the bootstrap it stays informative at 0/n.
Estimate wilson_interval(uint64_t successes, uint64_t n, double z = 1.959963984540054);

// The difference of two independent proportions k1/n1 - k2/n2 with Newcombe's
// hybrid score interval (his method 10, 1998), built from the two Wilson
// intervals [l1, u1], [l2, u2]: d - sqrt((p1-l1)^2 + (u2-p2)^2) to
// d + sqrt((u1-p1)^2 + (p2-l2)^2). Within [-1, 1], informative at 0/n and n/n
// where the Wald interval collapses. Needs n1, n2 > 0.
Estimate difference_interval(uint64_t k1, uint64_t n1, uint64_t k2, uint64_t n2, double z = 1.959963984540054);

// Percentile bootstrap: `resamples` resamples of `values` with replacement
// (seeded), the (1-confidence)/2 and (1+confidence)/2 quantiles of the statistic.
Estimate bootstrap(const std::vector<double>& values, const Statistic& statistic, int resamples = 1000,
                   double confidence = 0.95, uint64_t seed = 1);

double mean_of(const std::vector<double>& values);
// Mean over consecutive groups of `group` values of each group's maximum (a last,
// incomplete group counts too). PHF reports it with groups of 25.
double mean_max_over_groups(const std::vector<double>& values, size_t group);
double fraction_over(const std::vector<double>& values, double threshold);  // share with value > threshold

// Area under the ROC curve of `scores` for `labels` (true = positive): the
// probability a random positive outranks a random negative, ties counting half.
// NaN when one class is absent.
double auroc(const std::vector<double>& scores, const std::vector<bool>& labels);
// The same for two groups given apart (positives' scores, negatives' scores).
double auroc_of_groups(const std::vector<double>& positive_scores, const std::vector<double>& negative_scores);

struct CalibrationBin {
  double low = 0, high = 0;        // predicted-probability range
  uint64_t count = 0;
  double mean_predicted = 0, observed = 0;  // observed: fraction of positives
};
// `bins` equal-width bins over [0, 1]; also returns the expected calibration error
// (count-weighted mean |observed - predicted|) in *ece.
std::vector<CalibrationBin> calibration(const std::vector<double>& probabilities, const std::vector<bool>& labels,
                                        int bins, double* ece);

}  // namespace prealign
