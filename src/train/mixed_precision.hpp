// `--precision fp32|bf16|fp16` for training, as PyTorch users know it: the
// forward and backward matrix products run under autocast in the low precision
// (model/matmul.hpp's AutocastGuard), while weights, gradients and AdamW's
// moments stay float32 ("master weights"), and checkpoints are saved in float32.
// fp16's narrow range needs dynamic loss scaling (LossScaler, with the defaults
// of PyTorch's GradScaler); bf16 has float32's range and needs none.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/json_io.hpp"

namespace prealign {

// The autocast dtype of a --precision value (kFloat for fp32); an Error for others.
torch::ScalarType precision_dtype(const std::string& precision);

class LossScaler {
 public:
  explicit LossScaler(bool enabled) : enabled_(enabled) {}
  bool enabled() const { return enabled_; }
  double scale() const { return enabled_ ? scale_ : 1.0; }
  torch::Tensor scale_loss(const torch::Tensor& loss) const { return enabled_ ? loss * scale_ : loss; }
  // Divides the (complete, all-reduced) gradients by the scale.
  void unscale(const std::vector<torch::Tensor>& params) const;
  // After each step: an overflow (non-finite gradient norm) halves the scale and the
  // step is skipped; growth_interval finite steps in a row double it.
  void update(bool finite);
  json state() const;
  void load_state(const json& j, const std::string& where);

 private:
  bool enabled_;
  double scale_ = 65536.0;
  int64_t good_steps_ = 0;
  static constexpr int64_t kGrowthInterval = 2000;
};

}  // namespace prealign
