// Model FLOPs utilisation needs a peak to compare with: we measure this
// machine's float32 matmul rate (with the kernels the model uses) instead of trusting a datasheet.
#pragma once
#include <torch/torch.h>

namespace prealign {

// Best-of-several FLOP/s of an n×n×n float32 matmul on `device` (~0.2 s).
double measure_matmul_peak_flops(torch::Device device, int n = 1024);

}  // namespace prealign
