// AdamW (decoupled weight decay), written out so its state is plain named
// tensors: a resumed run restores it exactly from optimizer.safetensors.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace prealign {

struct AdamWOptions {
  double beta1 = 0.9, beta2 = 0.95, eps = 1e-8, weight_decay = 0.1;
};

class AdamW {
 public:
  using Named = std::vector<std::pair<std::string, torch::Tensor>>;
  // `decay`: matrices (weight decay applies); `no_decay`: norms, biases.
  AdamW(Named decay, Named no_decay, AdamWOptions options);
  void step(double lr);
  void zero_grad();
  double clip_grad_norm(double max_norm);  // returns the norm before clipping
  int64_t steps() const { return steps_; }
  Named state() const;  // "<param>.exp_avg", "<param>.exp_avg_sq", "step"
  void load_state(const std::map<std::string, torch::Tensor>& state, const std::string& where);

 private:
  struct Slot {
    std::string name;
    torch::Tensor param, exp_avg, exp_avg_sq;
    bool decay;
  };
  std::vector<Slot> slots_;
  AdamWOptions opt_;
  int64_t steps_ = 0;
};

// Linear warmup to `peak`, then cosine decay to peak * min_ratio at `total` steps.
inline double lr_at(int64_t step, int64_t total, int64_t warmup, double peak, double min_ratio) {
  if (warmup > 0 && step < warmup) return peak * static_cast<double>(step + 1) / static_cast<double>(warmup);
  if (step >= total) return peak * min_ratio;
  double progress = static_cast<double>(step - warmup) / static_cast<double>(std::max<int64_t>(1, total - warmup));
  double cosine = 0.5 * (1.0 + std::cos(3.14159265358979323846 * progress));
  return peak * (min_ratio + (1.0 - min_ratio) * cosine);
}

}  // namespace prealign
