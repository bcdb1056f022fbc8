// unlikelihood (PHF, after Welleck et al. 2019): tokens of good segments get the
// usual -log p; tokens of bad segments (score over --threshold, a hard cut) get
// -alpha * log(1 - p), pushing their probability down. PHF default alpha 0.01.
#include "train/objectives.hpp"

namespace prealign {

torch::Tensor unlikelihood_loss(const torch::Tensor& logits, const torch::Tensor& targets, const torch::Tensor& label,
                                double alpha) {
  auto logp = torch::log_softmax(logits, -1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);  // (B, T)
  auto bad = label.eq(kLabelBad).to(logp.dtype());
  // log(1 - p) with 1 - p clamped away from 0, so a confident bad token cannot give -inf.
  auto log_one_minus_p = torch::log(torch::clamp_min(1.0 - logp.exp(), 1e-20));
  return (-(1.0 - bad) * logp - alpha * bad * log_one_minus_p).mean();
}

namespace {

class UnlikelihoodObjective : public Objective {
 public:
  UnlikelihoodObjective(const ObjectiveOptions& o, const Dataset& d)
      : Objective(o, d), alpha_(o.alpha >= 0 ? o.alpha : kUnlikelihoodAlpha) {
    options_.alpha = alpha_;
  }
  std::string name() const override { return "unlikelihood"; }
  LossResult loss(const ForwardOutput& out, const BatchTensors& b) override {
    LossResult r;
    r.loss = unlikelihood_loss(out.logits, b.targets, b.label, alpha_);
    r.metrics["bad_fraction"] = b.label.eq(kLabelBad).to(torch::kFloat32).mean().item<double>();
    return r;
  }

 private:
  double alpha_;
};

}  // namespace

std::unique_ptr<Objective> make_unlikelihood_objective(const ObjectiveOptions& o, const Dataset& data) {
  return std::make_unique<UnlikelihoodObjective>(o, data);
}

}  // namespace prealign
