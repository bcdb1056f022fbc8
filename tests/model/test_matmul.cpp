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

// Autocast: the product of the operands rounded to bf16 (or fp16), accumulated in
// float32 — compared with double arithmetic on the rounded operands — and
// different from the float32 product by about the rounding (so the low-precision
// path really ran). Both kernel backends, forward and backward, strided views.
TEST(Matmul, AutocastMultipliesTheRoundedOperands) {
  BackendGuard guard;
  torch::manual_seed(8);
  std::vector<std::string> backends = {"torch"};
  if (onednn_available()) backends.push_back("onednn");
  for (const std::string& backend : backends)
    for (torch::ScalarType dtype : {torch::kBFloat16, torch::kHalf}) {
      set_matmul_backend(backend);
      const std::string what = backend + " " + c10::toString(dtype);
      Tensor a = torch::randn({48, 96}, torch::requires_grad()), w = torch::randn({80, 96}, torch::requires_grad());
      Tensor probe = torch::randn({48, 80});
      Tensor out;
      {
        AutocastGuard autocast(dtype);
        EXPECT_EQ(autocast_dtype(), dtype);
        out = prealign::linear(a, w);  // a @ w^T, w transposed: a strided operand
        (out * probe).sum().backward();
      }
      EXPECT_EQ(autocast_dtype(), torch::kFloat);
      ASSERT_EQ(out.scalar_type(), torch::kFloat);  // low-precision operands, float32 product
      auto rounded = [&](const Tensor& t) { return t.detach().to(dtype).to(torch::kFloat64); };
      Tensor want = torch::mm(rounded(a), rounded(w).t());
      // Within float32 accumulation, plus half an ulp of a rounded product where the kernel rounds
      // it (fp16 emulation; libtorch's bf16 GEMM): 2^-9 of the largest value.
      EXPECT_LT(max_rel_error(out, want), 2.5e-3) << what;
      Tensor exact = torch::mm(a.detach().to(torch::kFloat64), w.detach().to(torch::kFloat64).t());
      EXPECT_GT(max_rel_error(out, exact), 1e-5) << what << ": the float32 path ran";  // float32: ~1e-7
      // Gradients: the incoming gradient rounded too, products with the rounded operands.
      Tensor g = rounded(probe);
      EXPECT_LT(max_rel_error(a.grad(), torch::mm(g, rounded(w))), 2.5e-3) << what;
      EXPECT_LT(max_rel_error(w.grad(), torch::mm(g.t(), rounded(a))), 2.5e-3) << what;
      ASSERT_EQ(a.grad().scalar_type(), torch::kFloat);  // float32 gradients for float32 master weights
    }
}

TEST(Matmul, Fp16AutocastOverflowsLikeFp16) {
  // 300 * 300 * 1 summed 8 times = 720,000: past fp16's 65,504, so inf (what loss scaling guards against).
  Tensor a = torch::full({2, 8}, 300.0f), b = torch::full({8, 2}, 300.0f);
  AutocastGuard autocast(torch::kHalf);
  EXPECT_TRUE(torch::isinf(prealign::matmul(a, b)).all().item<bool>());
  AutocastGuard bf16(torch::kBFloat16);  // bf16 has float32's range
  EXPECT_TRUE(torch::isfinite(prealign::matmul(a, b)).all().item<bool>());
}
