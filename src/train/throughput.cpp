#include "train/throughput.hpp"

#include <chrono>

#include "model/matmul.hpp"

namespace prealign {

double measure_matmul_peak_flops(torch::Device device, int n) {
  torch::NoGradGuard no_grad;
  auto a = torch::randn({n, n}, torch::TensorOptions().device(device));
  auto b = torch::randn({n, n}, torch::TensorOptions().device(device));
  auto c = prealign::matmul(a, b);  // warm-up
  double best = 0;
  for (int i = 0; i < 5; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    c = prealign::matmul(a, b);
    (void)c.sum().item<float>();  // synchronise on devices that run asynchronously
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, 2.0 * n * n * static_cast<double>(n) / s);
  }
  return best;
}

}  // namespace prealign
