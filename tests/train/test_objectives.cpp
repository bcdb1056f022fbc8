// Objectives against hand-computed references, AdamW against libtorch's own,
// and the learning-rate schedule.
#include <gtest/gtest.h>

#include <cmath>

#include "train/adamw.hpp"
#include "train/objective.hpp"

using namespace prealign;

// Reference CE written out: -log softmax(logits)[target], in double.
static double reference_ce(const std::vector<double>& logits, int target) {
  double m = *std::max_element(logits.begin(), logits.end()), s = 0;
  for (double x : logits) s += std::exp(x - m);
  return -(logits[static_cast<size_t>(target)] - m - std::log(s));
}

TEST(Loss, TokenCrossEntropyMatchesHandComputation) {
  // B=1, T=2, V=3
  std::vector<double> l0 = {1.0, 2.0, 0.5}, l1 = {-1.0, 0.0, 3.0};
  auto logits = torch::tensor({1.0f, 2.0f, 0.5f, -1.0f, 0.0f, 3.0f}).view({1, 2, 3});
  auto targets = torch::tensor({0, 2}, torch::kInt64).view({1, 2});
  auto ce = token_cross_entropy(logits, targets);
  EXPECT_NEAR(ce[0][0].item<double>(), reference_ce(l0, 0), 1e-6);
  EXPECT_NEAR(ce[0][1].item<double>(), reference_ce(l1, 2), 1e-6);
  auto mask = torch::tensor({true, false}).view({1, 2});
  EXPECT_NEAR(masked_cross_entropy(logits, targets, mask).item<double>(), reference_ce(l0, 0), 1e-6);
}

TEST(Schedule, WarmupThenCosineToTheFloor) {
  const double peak = 1e-3;
  EXPECT_NEAR(lr_at(0, 100, 10, peak, 0.1), peak * 0.1, 1e-12);
  EXPECT_NEAR(lr_at(9, 100, 10, peak, 0.1), peak, 1e-12);
  EXPECT_NEAR(lr_at(10, 100, 10, peak, 0.1), peak, 1e-12);
  EXPECT_NEAR(lr_at(55, 100, 10, peak, 0.1), peak * (0.1 + 0.9 * 0.5), 1e-12);  // half way: cos = 0
  EXPECT_NEAR(lr_at(100, 100, 10, peak, 0.1), peak * 0.1, 1e-12);
}

TEST(AdamW, MatchesLibtorchAdamW) {
  torch::manual_seed(0);
  auto w_ours = torch::randn({4, 3}).requires_grad_(true);
  auto b_ours = torch::randn({3}).requires_grad_(true);
  auto w_ref = w_ours.detach().clone().requires_grad_(true);
  auto b_ref = b_ours.detach().clone().requires_grad_(true);
  AdamWOptions o;
  AdamW ours({{"w", w_ours}}, {{"b", b_ours}}, o);
  torch::optim::AdamW ref_w({w_ref}, torch::optim::AdamWOptions(1e-2).betas({o.beta1, o.beta2}).eps(o.eps)
                                         .weight_decay(o.weight_decay));
  torch::optim::AdamW ref_b({b_ref}, torch::optim::AdamWOptions(1e-2).betas({o.beta1, o.beta2}).eps(o.eps)
                                         .weight_decay(0.0));
  auto x = torch::randn({5, 4});
  for (int step = 0; step < 7; ++step) {
    ((x.matmul(w_ours) + b_ours).pow(2).sum()).backward();
    ours.step(1e-2);
    ours.zero_grad();
    ((x.matmul(w_ref) + b_ref).pow(2).sum()).backward();
    ref_w.step();
    ref_b.step();
    ref_w.zero_grad();
    ref_b.zero_grad();
  }
  EXPECT_TRUE(torch::allclose(w_ours, w_ref, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(b_ours, b_ref, 1e-5, 1e-6));
  // The state round-trips.
  std::map<std::string, torch::Tensor> state;
  for (auto& [k, v] : ours.state()) state[k] = v;
  // The state round-trips: an optimizer restored from it on copies of the weights
  // takes the 8th step the reference takes (fresh moments or a reset step count
  // would not: bias correction and the moments both change the update).
  auto w_again = w_ours.detach().clone().requires_grad_(true);
  auto b_again = b_ours.detach().clone().requires_grad_(true);
  AdamW again({{"w", w_again}}, {{"b", b_again}}, o);
  again.load_state(state, "test");
  EXPECT_EQ(again.steps(), 7);
  auto w_fresh = w_ours.detach().clone().requires_grad_(true);
  ((x.matmul(w_again) + b_again).pow(2).sum()).backward();
  again.step(1e-2);
  ((x.matmul(w_ref) + b_ref).pow(2).sum()).backward();
  ref_w.step();
  ref_b.step();
  EXPECT_TRUE(torch::allclose(w_again, w_ref, 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(b_again, b_ref, 1e-5, 1e-6));
  AdamW forgetful({{"w", w_fresh}}, {}, o);
  ((x.matmul(w_fresh) + b_ours.detach()).pow(2).sum()).backward();
  forgetful.step(1e-2);
  EXPECT_FALSE(torch::allclose(w_fresh, w_ref, 1e-5, 1e-6)) << "the check above could not tell a lost state";
}
