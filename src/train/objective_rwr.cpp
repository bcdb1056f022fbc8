// rwr, reward-weighted regression (PHF): each token's cross-entropy is weighted
// by exp(r / beta) with r = -(segment score), clamped at max_weight. Scores are
// >= 0, so weights are <= 1: bad segments count less. PHF default beta 10
// (PHF runs it as AWR with alpha 1; here it has no value head at all).
#include "train/objectives.hpp"

namespace prealign {

torch::Tensor rwr_loss(const torch::Tensor& logits, const torch::Tensor& targets, const torch::Tensor& score,
                       double beta, double max_weight) {
  auto w = torch::clamp_max(torch::exp(-score / beta), max_weight);  // (B, T)
  return (w * token_cross_entropy(logits, targets)).mean();
}

namespace {

class RwrObjective : public Objective {
 public:
  RwrObjective(const ObjectiveOptions& o, const Dataset& d) : Objective(o, d), beta_(o.beta > 0 ? o.beta : kRwrBeta) {
    options_.beta = beta_;
  }
  std::string name() const override { return "rwr"; }
  LossResult loss(const ForwardOutput& out, const BatchTensors& b) override {
    LossResult r;
    r.loss = rwr_loss(out.logits, b.targets, b.score, beta_, options_.max_weight);
    r.metrics["weight_mean"] = torch::exp(-b.score / beta_).mean().item<double>();
    return r;
  }

 private:
  double beta_;
};

}  // namespace

std::unique_ptr<Objective> make_rwr_objective(const ObjectiveOptions& o, const Dataset& data) {
  return std::make_unique<RwrObjective>(o, data);
}

}  // namespace prealign
