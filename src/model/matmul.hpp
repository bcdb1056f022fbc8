// Float32 matrix products for the model, on the CPU through oneDNN's matmul
// primitive. Why: libtorch reaches BLAS through OpenBLAS, whose kernels are
// picked by CPU model (or OPENBLAS_CORETYPE) and top out at AVX2; on CPUs it does
// not recognise it falls back to generic SSE3 (Prescott) kernels. oneDNN is
// already a libtorch dependency and detects AVX2/AVX-512 itself: 1.4-2x faster
// than OpenBLAS's Haswell kernels here, 3-5x faster than the Prescott ones
// (bench/matmul_bench, docs/performance.md). On other devices or dtypes, or in
// builds without oneDNN, these are torch's own ops. Both are differentiable.
#pragma once
#include <torch/torch.h>

#include <string>

namespace prealign {

// a (M, K) @ b (K, N) -> (M, N), or batched a (G, M, K) @ b (G, K, N) -> (G, M, N).
// Inputs may be any strided views (transposes cost nothing).
torch::Tensor matmul(const torch::Tensor& a, const torch::Tensor& b);

// x (..., K) @ w (N, K)^T -> (..., N): F::linear without bias.
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w);

// Autocast, as PyTorch's autocast does it for matrix products: inside an
// AutocastGuard for bf16 or fp16, matmul() and linear() take float32 operands,
// multiply in the low precision (with float32 accumulation where the kernel has
// it) and return float32; everything else (norms, softmax, losses) stays in
// float32, as do the weights and their gradients (fp32 master weights).
//  - CPU bf16: oneDNN's bf16 matmul, which uses the AVX-512 BF16 (or AMX)
//    instructions when the CPU has them; with --matmul torch, the rounded
//    operands multiplied in float32 (bf16's numerics at float32 speed).
//  - CPU fp16: no fast fp16 kernels here: operands and product are rounded to
//    fp16 and multiplied in float32, so a run shows fp16's numerics (overflow
//    included, which is what loss scaling is for) at float32 speed.
//  - CUDA: torch's bf16/fp16 GEMMs.
// The dtype is captured at forward time, so backward uses the same.
class AutocastGuard {
 public:
  explicit AutocastGuard(torch::ScalarType dtype);  // kFloat: autocast off
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  torch::ScalarType previous_;
};
torch::ScalarType autocast_dtype();  // kFloat when off

// Which kernels matmul() uses on the CPU: "onednn" (default when built with it) or
// "torch" (libtorch's BLAS path; for comparisons and as a fallback).
void set_matmul_backend(const std::string& name);
std::string matmul_backend();
bool onednn_available();

}  // namespace prealign
