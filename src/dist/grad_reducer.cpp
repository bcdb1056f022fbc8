#include "dist/grad_reducer.hpp"

namespace prealign {

GradReducer::GradReducer(const ProcessGroup& group, std::vector<torch::Tensor> params, double bucket_mb, bool overlap)
    : group_(group), params_(std::move(params)), overlap_(overlap) {
  if (group_.size() == 1) return;
  const int64_t cap = std::max<int64_t>(1, static_cast<int64_t>(bucket_mb * 1024 * 1024 / sizeof(float)));
  slot_.resize(params_.size());
  std::vector<int64_t> filled;  // elements in each bucket
  for (size_t i = params_.size(); i-- > 0;) {
    const int64_t n = params_[i].numel();
    if (buckets_.empty() || (filled.back() > 0 && filled.back() + n > cap)) {
      buckets_.emplace_back();
      filled.push_back(0);
    }
    Bucket& b = buckets_.back();
    slot_[i] = {buckets_.size() - 1, b.params.size()};
    b.params.push_back(i);
    b.offset.push_back(filled.back());
    filled.back() += n;
  }
  for (size_t k = 0; k < buckets_.size(); ++k)
    buckets_[k].flat = torch::zeros({filled[k]}, params_[buckets_[k].params.front()].options().requires_grad(false));
  if (overlap_)
    for (size_t i = 0; i < params_.size(); ++i)
      params_[i].register_hook([this, i](torch::Tensor g) {
        on_gradient(i, g);
        return torch::Tensor();  // the gradient itself is left as it is
      });
}

void GradReducer::before_backward(bool last_micro_batch) {
  std::lock_guard<std::mutex> lock(mutex_);
  armed_ = overlap_ && last_micro_batch && !buckets_.empty();
}

// A parameter's gradient of the last micro-batch has arrived (before autograd adds it
// to .grad): pack the step's total, .grad so far plus this one.
void GradReducer::on_gradient(size_t param, const torch::Tensor& incoming) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!armed_) return;
  auto [bi, k] = slot_[param];
  Bucket& b = buckets_[bi];
  torch::NoGradGuard no_grad;
  torch::Tensor dst = b.flat.narrow(0, b.offset[k], params_[param].numel());
  const torch::Tensor& so_far = params_[param].grad();
  if (so_far.defined())
    torch::add_out(dst, so_far.reshape({-1}), incoming.reshape({-1}));
  else
    dst.copy_(incoming.reshape({-1}));
  if (++b.ready == b.params.size()) launch(b);
}

void GradReducer::launch(Bucket& b) {
  b.launched = true;
  b.pending = group_.all_reduce_sum_async(b.flat);
}

void GradReducer::finish() {
  if (buckets_.empty()) return;
  std::lock_guard<std::mutex> lock(mutex_);
  torch::NoGradGuard no_grad;
  // Buckets the hooks did not complete (every bucket after backward, or a parameter
  // that got no gradient this step) are packed from .grad now.
  for (Bucket& b : buckets_) {
    if (b.launched) continue;
    for (size_t k = 0; k < b.params.size(); ++k) {
      const torch::Tensor& p = params_[b.params[k]];
      torch::Tensor dst = b.flat.narrow(0, b.offset[k], p.numel());
      if (p.grad().defined())
        dst.copy_(p.grad().reshape({-1}));
      else
        dst.zero_();
    }
    launch(b);
  }
  const double inv = 1.0 / group_.size();
  for (Bucket& b : buckets_) {
    b.pending.wait();
    b.flat.mul_(inv);
    for (size_t k = 0; k < b.params.size(); ++k) {
      torch::Tensor& p = params_[b.params[k]];
      torch::Tensor avg = b.flat.narrow(0, b.offset[k], p.numel()).view_as(p);
      if (p.grad().defined())
        p.mutable_grad().copy_(avg);
      else
        p.mutable_grad() = avg.clone();
    }
    b.ready = 0;
    b.launched = false;
  }
  armed_ = false;
}

}  // namespace prealign
