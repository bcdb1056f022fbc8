// Factories of the concrete objectives (one file each, or grouped by kinship),
// and the pure loss functions behind them (tested against hand-computed values).
#pragma once
#include <memory>

#include "train/objective.hpp"

namespace prealign {

std::unique_ptr<Objective> make_mle_objective(const ObjectiveOptions& o, const Dataset& data);
std::unique_ptr<Objective> make_conditional_objective(const ObjectiveOptions& o, const Dataset& data,
                                                      const Tokenizer& tokenizer);
std::unique_ptr<Objective> make_filter_objective(const ObjectiveOptions& o, const Dataset& data);
std::unique_ptr<Objective> make_unlikelihood_objective(const ObjectiveOptions& o, const Dataset& data);
std::unique_ptr<Objective> make_rwr_objective(const ObjectiveOptions& o, const Dataset& data);
std::unique_ptr<Objective> make_awr_objective(const ObjectiveOptions& o, const Dataset& data, torch::Device device,
                                              int model_dim);

// PHF defaults (configs/pep8/*.yml of tomekkorbak/pretraining-with-human-feedback).
constexpr double kUnlikelihoodAlpha = 0.01;
constexpr double kRwrBeta = 10.0;
constexpr double kAwrAlpha = 0.05, kAwrBeta = 1.0;

// Unlikelihood: mean over tokens of -log p (good or unlabelled targets) and
// -alpha * log(max(1 - p, 1e-20)) (bad targets). label (B, T) int8.
torch::Tensor unlikelihood_loss(const torch::Tensor& logits, const torch::Tensor& targets, const torch::Tensor& label,
                                double alpha);
// Reward-weighted regression: mean over tokens of min(exp(-score / beta), max_weight) * CE.
torch::Tensor rwr_loss(const torch::Tensor& logits, const torch::Tensor& targets, const torch::Tensor& score,
                       double beta, double max_weight);

struct AwrLoss {
  torch::Tensor loss, weighted_ce, value_mse, weights;  // weights (B, T)
};
// Advantage-weighted regression: r = -score, A = r - V (V detached for the weights),
// w = clamp(exp(A / beta), 0, max_weight); loss = alpha * mean(w * CE) + (1 - alpha) * mean((V - r)^2).
AwrLoss awr_loss(const torch::Tensor& logits, const torch::Tensor& targets, const torch::Tensor& score,
                 const torch::Tensor& value, double alpha, double beta, double max_weight);

}  // namespace prealign
