// Model FLOPs utilisation needs a peak to compare with. A datasheet peak is not
// known for a shared or virtual CPU, and a matmul timed at each start-up moves
// with whatever else the machine is doing (MFU then means different things in
// different runs). So the peak is this machine's best matmul rate, with the
// model's kernels and precision, measured once carefully and cached:
//   $XDG_CACHE_HOME/prealign/peak_flops.json (default ~/.cache/...), one entry
//   per (CPU model or GPU, threads, kernels, dtype); PREALIGN_PEAK_FLOPS=<FLOP/s>
//   overrides it, and deleting the file measures again.
// A peak measured while other jobs shared the machine is too low (MFU above
// 100%); a run that reaches more than the cached peak raises it to what it
// reached, so the cache only ever moves toward the machine's real best.
#pragma once
#include <torch/torch.h>

#include <string>

namespace prealign {

// Best-of-several FLOP/s of an n×n×n matmul on `device` in `dtype` (autocast; ~0.2 s at n=1024).
double measure_matmul_peak_flops(torch::Device device, int n = 1024, torch::ScalarType dtype = torch::kFloat);

// The cached peak for this machine and set-up (measured on first use: about 2 s).
double peak_flops(torch::Device device, torch::ScalarType dtype);
std::string peak_flops_cache_path();

// `reached` FLOP/s were achieved (by a training run): if more than the cached
// peak, it becomes the cached peak. Returns the peak now in force.
double raise_peak_flops(torch::Device device, torch::ScalarType dtype, double reached);

}  // namespace prealign
