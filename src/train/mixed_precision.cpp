#include "train/mixed_precision.hpp"

#include "core/error.hpp"

namespace prealign {

torch::ScalarType precision_dtype(const std::string& precision) {
  if (precision == "fp32") return torch::kFloat;
  if (precision == "bf16") return torch::kBFloat16;
  if (precision == "fp16") return torch::kHalf;
  fail("--precision " + precision, "unknown precision", "use fp32, bf16 or fp16");
}

void LossScaler::unscale(const std::vector<torch::Tensor>& params) const {
  if (!enabled_) return;
  torch::NoGradGuard no_grad;
  for (const auto& p : params)
    if (p.grad().defined()) p.grad().mul_(1.0 / scale_);
}

void LossScaler::update(bool finite) {
  if (!enabled_) return;
  if (!finite) {
    scale_ = std::max(1.0, scale_ / 2);
    good_steps_ = 0;
  } else if (++good_steps_ == kGrowthInterval) {
    scale_ *= 2;
    good_steps_ = 0;
  }
}

json LossScaler::state() const { return {{"scale", scale_}, {"good_steps", good_steps_}}; }

void LossScaler::load_state(const json& j, const std::string& where) {
  scale_ = json_required<double>(j, "scale", where);
  good_steps_ = json_required<int64_t>(j, "good_steps", where);
  if (!(scale_ >= 1.0) || good_steps_ < 0) fail(where, "bad loss scaler state");
}

}  // namespace prealign
