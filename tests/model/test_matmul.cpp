// The model's matmul (oneDNN on the CPU) against libtorch's, in double precision
// as the reference: values and gradients, on the strided views the model passes.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.hpp"
#include "model/matmul.hpp"

using namespace prealign;
using torch::Tensor;

namespace {

double max_rel_error(const Tensor& got, const Tensor& want) {
  return ((got.to(torch::kFloat64) - want).abs().max() / want.abs().max().clamp_min(1e-12)).item<double>();
}

// Restores the process-wide backend however a test ends.
struct BackendGuard {
  std::string saved = matmul_backend();
  ~BackendGuard() { set_matmul_backend(saved); }
};

}  // namespace

TEST(Matmul, MatchesDoublePrecisionOnStridedViews) {
  torch::manual_seed(3);
  struct Case { int64_t M, K, N; bool ta, tb; };
  for (Case c : {Case{1, 7, 5, false, false}, Case{37, 64, 129, false, true}, Case{128, 33, 1, true, false},
                 Case{64, 384, 1152, false, true}, Case{1, 384, 2048, false, true}, Case{300, 1, 17, true, true}}) {
    Tensor a = c.ta ? torch::randn({c.K, c.M}).t() : torch::randn({c.M, c.K});  // (M, K), maybe transposed
    Tensor b = c.tb ? torch::randn({c.N, c.K}).t() : torch::randn({c.K, c.N});  // (K, N)
    Tensor want = torch::mm(a.to(torch::kFloat64), b.to(torch::kFloat64));
    Tensor got = prealign::matmul(a, b);
    ASSERT_EQ(got.sizes(), want.sizes());
    EXPECT_LT(max_rel_error(got, want), 1e-5) << c.M << "x" << c.K << "x" << c.N;
  }
}

TEST(Matmul, BatchedAndNarrowedOperands) {
  torch::manual_seed(4);
  Tensor q = torch::randn({6, 40, 16});
  Tensor cache = torch::randn({6, 64, 16});          // a KV buffer with spare room
  Tensor k = cache.narrow(1, 0, 23);                 // (6, 23, 16), rows strided by the capacity
  Tensor got = prealign::matmul(q, k.transpose(1, 2));  // (6, 40, 23)
  Tensor want = torch::bmm(q.to(torch::kFloat64), k.transpose(1, 2).to(torch::kFloat64));
  EXPECT_LT(max_rel_error(got, want), 1e-5);
  Tensor one = torch::randn({6, 1, 16});  // a decode step: one query row
  EXPECT_LT(max_rel_error(prealign::matmul(one, k.transpose(1, 2)),
                          torch::bmm(one.to(torch::kFloat64), k.transpose(1, 2).to(torch::kFloat64))),
            1e-5);
}

TEST(Matmul, GradientsMatchLibtorchAutograd) {
  torch::manual_seed(5);
  Tensor x = torch::randn({3, 9, 24}, torch::requires_grad());
  Tensor w = torch::randn({31, 24}, torch::requires_grad());
  Tensor probe = torch::randn({3, 9, 31});
  (prealign::linear(x, w) * probe).sum().backward();
  Tensor gx = x.grad().clone(), gw = w.grad().clone();
  Tensor x64 = x.detach().to(torch::kFloat64).requires_grad_(), w64 = w.detach().to(torch::kFloat64).requires_grad_();
  (torch::nn::functional::linear(x64, w64) * probe.to(torch::kFloat64)).sum().backward();
  EXPECT_LT(max_rel_error(gx, x64.grad()), 1e-5);
  EXPECT_LT(max_rel_error(gw, w64.grad()), 1e-5);

  Tensor a = torch::randn({4, 5, 8}, torch::requires_grad()), b = torch::randn({4, 8, 6}, torch::requires_grad());
  prealign::matmul(a, b).pow(2).sum().backward();
  Tensor a64 = a.detach().to(torch::kFloat64).requires_grad_(), b64 = b.detach().to(torch::kFloat64).requires_grad_();
  torch::bmm(a64, b64).pow(2).sum().backward();
  EXPECT_LT(max_rel_error(a.grad(), a64.grad()), 1e-5);
  EXPECT_LT(max_rel_error(b.grad(), b64.grad()), 1e-5);
}

TEST(Matmul, BackendsAgreeAndBadShapesAreErrors) {
  BackendGuard guard;
  torch::manual_seed(6);
  Tensor a = torch::randn({50, 70}), b = torch::randn({70, 30});
  set_matmul_backend("torch");
  Tensor via_torch = prealign::matmul(a, b);
  if (onednn_available()) {
    set_matmul_backend("onednn");
    EXPECT_LT((prealign::matmul(a, b) - via_torch).abs().max().item<double>(), 1e-4);
  }
  EXPECT_THROW(set_matmul_backend("mkl"), Error);
  EXPECT_THROW(prealign::matmul(a, a), Error);
  EXPECT_THROW(prealign::matmul(torch::randn({2, 3, 4}), torch::randn({3, 4, 5})), Error);
}
