#include "train/adamw.hpp"

#include <cmath>

#include "core/error.hpp"

namespace prealign {

AdamW::AdamW(Named decay, Named no_decay, AdamWOptions options) : opt_(options) {
  auto add = [&](Named& params, bool d) {
    for (auto& [name, p] : params)
      slots_.push_back({name, p, torch::zeros_like(p), torch::zeros_like(p), d});
  };
  add(decay, true);
  add(no_decay, false);
}

void AdamW::zero_grad() {
  for (auto& s : slots_)
    if (s.param.grad().defined()) s.param.mutable_grad().zero_();
}

double AdamW::clip_grad_norm(double max_norm) {
  std::vector<torch::Tensor> params;
  for (auto& s : slots_) params.push_back(s.param);
  return torch::nn::utils::clip_grad_norm_(params, max_norm > 0 ? max_norm : INFINITY);
}

void AdamW::step(double lr) {
  torch::NoGradGuard no_grad;
  ++steps_;
  const double bc1 = 1.0 - std::pow(opt_.beta1, static_cast<double>(steps_));
  const double bc2 = 1.0 - std::pow(opt_.beta2, static_cast<double>(steps_));
  for (auto& s : slots_) {
    if (!s.param.grad().defined()) continue;
    const auto& g = s.param.grad();
    if (s.decay && opt_.weight_decay > 0) s.param.mul_(1.0 - lr * opt_.weight_decay);
    s.exp_avg.mul_(opt_.beta1).add_(g, 1.0 - opt_.beta1);
    s.exp_avg_sq.mul_(opt_.beta2).addcmul_(g, g, 1.0 - opt_.beta2);
    auto denom = (s.exp_avg_sq.sqrt() / std::sqrt(bc2)).add_(opt_.eps);
    s.param.addcdiv_(s.exp_avg, denom, -lr / bc1);
  }
}

AdamW::Named AdamW::state() const {
  Named out;
  for (const auto& s : slots_) {
    out.emplace_back(s.name + ".exp_avg", s.exp_avg.cpu());
    out.emplace_back(s.name + ".exp_avg_sq", s.exp_avg_sq.cpu());
  }
  out.emplace_back("step", torch::tensor({steps_}, torch::kInt64));
  return out;
}

void AdamW::load_state(const std::map<std::string, torch::Tensor>& state, const std::string& where) {
  auto get = [&](const std::string& key) -> const torch::Tensor& {
    auto it = state.find(key);
    if (it == state.end()) fail(where, "optimizer state lacks \"" + key + "\"", "was the checkpoint written by another model?");
    return it->second;
  };
  torch::NoGradGuard no_grad;
  for (auto& s : slots_) {
    const auto& m = get(s.name + ".exp_avg");
    const auto& v = get(s.name + ".exp_avg_sq");
    if (m.sizes() != s.param.sizes() || v.sizes() != s.param.sizes())
      fail(where, "optimizer state for \"" + s.name + "\" has the wrong shape");
    s.exp_avg.copy_(m);
    s.exp_avg_sq.copy_(v);
  }
  steps_ = get("step").item<int64_t>();
}

}  // namespace prealign
