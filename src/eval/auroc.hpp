// Area under the ROC curve of a score separating positives from negatives:
// the probability that a random positive scores above a random negative (ties
// count one half), i.e. the Mann-Whitney U statistic over n_pos * n_neg.
#pragma once
#include <vector>

namespace prealign {

// NaN when either class is empty.
double auroc(const std::vector<double>& positive_scores, const std::vector<double>& negative_scores);

}  // namespace prealign
