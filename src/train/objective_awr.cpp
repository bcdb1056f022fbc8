// awr, advantage-weighted regression (PHF, after Peng et al. 2019): a linear
// value head on the final hidden state predicts the reward r = -(segment score)
// of each target token; the token's cross-entropy is weighted by
// exp((r - V) / beta) clamped at max_weight (V detached there), and the head is
// trained by MSE: loss = alpha * weighted CE + (1 - alpha) * value MSE. The
// head's gradient also reaches the trunk (PHF pep8: value head not detached).
// PHF defaults alpha 0.05, beta 1, clamp 1000. The head is saved in the
// checkpoint's extra.safetensors as value_head.weight / value_head.bias.
#include "train/objectives.hpp"

namespace prealign {

AwrLoss awr_loss(const torch::Tensor& logits, const torch::Tensor& targets, const torch::Tensor& score,
                 const torch::Tensor& value, double alpha, double beta, double max_weight) {
  AwrLoss r;
  auto reward = -score;                                                             // (B, T)
  r.weights = torch::clamp(torch::exp((reward - value.detach()) / beta), 0.0, max_weight);  // (B, T)
  r.weighted_ce = (r.weights * token_cross_entropy(logits, targets)).mean();
  r.value_mse = (value - reward).pow(2).mean();
  r.loss = alpha * r.weighted_ce + (1.0 - alpha) * r.value_mse;
  return r;
}

namespace {

class AwrObjective : public Objective {
 public:
  AwrObjective(const ObjectiveOptions& o, const Dataset& d, torch::Device device, int dim)
      : Objective(o, d), alpha_(o.alpha >= 0 ? o.alpha : kAwrAlpha), beta_(o.beta > 0 ? o.beta : kAwrBeta) {
    options_.alpha = alpha_;
    options_.beta = beta_;
    auto f = torch::TensorOptions().dtype(torch::kFloat32).device(device);
    weight_ = (torch::randn({1, dim}, f) * 0.02).requires_grad_(true);  // (1, C)
    bias_ = torch::zeros({1}, f).requires_grad_(true);
  }
  std::string name() const override { return "awr"; }
  LossResult loss(const ForwardOutput& out, const BatchTensors& b) override {
    auto value = (out.hidden.matmul(weight_.t()) + bias_).squeeze(-1);  // (B, T)
    AwrLoss a = awr_loss(out.logits, b.targets, b.score, value, alpha_, beta_, options_.max_weight);
    LossResult r;
    r.loss = a.loss;
    r.metrics["weighted_ce"] = a.weighted_ce.item<double>();
    r.metrics["value_mse"] = a.value_mse.item<double>();
    r.metrics["weight_mean"] = a.weights.mean().item<double>();
    r.metrics["weight_max"] = a.weights.max().item<double>();
    return r;
  }
  std::vector<std::pair<std::string, torch::Tensor>> parameters() override {
    return {{"value_head.weight", weight_}, {"value_head.bias", bias_}};
  }

 private:
  double alpha_, beta_;
  torch::Tensor weight_, bias_;
};

}  // namespace

std::unique_ptr<Objective> make_awr_objective(const ObjectiveOptions& o, const Dataset& data, torch::Device device,
                                              int model_dim) {
  return std::make_unique<AwrObjective>(o, data, device, model_dim);
}

}  // namespace prealign
