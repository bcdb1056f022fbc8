// Float32 matmul rate of the two CPU kernel paths the model can use, side by
// side: oneDNN (prealign's default) and libtorch's BLAS path (OpenBLAS here).
// Runs alternate; each figure is the median of `reps` best-of-5 measurements,
// the same measurement MFU is computed against (src/train/throughput.cpp).
//   build/bench/matmul_bench [sizes=256,512,1024] [reps=5]     (threads: --threads via THREADS=)
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "model/matmul.hpp"
#include "model/runtime.hpp"
#include "train/throughput.hpp"

using namespace prealign;

int main(int argc, char** argv) {
  reexec_with_thread_policy_if_needed(argc, argv);
  std::vector<int> sizes;
  std::stringstream list(argc > 1 ? argv[1] : "256,512,1024");
  for (std::string s; std::getline(list, s, ',');) sizes.push_back(std::stoi(s));
  const int reps = argc > 2 ? std::atoi(argv[2]) : 5;
  const char* threads = std::getenv("THREADS");
  configure_threads(threads ? std::atoi(threads) : 0);
  std::printf("%s\n", describe_compute().c_str());
  std::printf("| n | oneDNN GFLOP/s | torch BLAS GFLOP/s | oneDNN / BLAS |\n|---|---|---|---|\n");
  for (int n : sizes) {
    std::vector<double> dnnl, blas;
    for (int r = 0; r < reps; ++r) {
      set_matmul_backend("onednn");
      dnnl.push_back(measure_matmul_peak_flops(torch::kCPU, n) / 1e9);
      set_matmul_backend("torch");
      blas.push_back(measure_matmul_peak_flops(torch::kCPU, n) / 1e9);
    }
    std::sort(dnnl.begin(), dnnl.end());
    std::sort(blas.begin(), blas.end());
    double a = dnnl[dnnl.size() / 2], b = blas[blas.size() / 2];
    std::printf("| %d | %.1f | %.1f | %.2fx |\n", n, a, b, a / b);
  }
  return 0;
}
