// ggml's Q8_0 quantization: each block of 32 values becomes one float16 scale
// d = max|x| / 127 and 32 int8 values q = round(x / d); x is read back as d * q.
// Per value the error is at most d/2 (plus the scale's float16 rounding).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace prealign {

constexpr int kQ8_0Block = 32;
constexpr int kQ8_0BlockBytes = 2 + kQ8_0Block;  // f16 scale + 32 int8

// n must be a multiple of kQ8_0Block; returns n / 32 * 34 bytes.
std::string quantize_q8_0(const float* x, int64_t n);
std::vector<float> dequantize_q8_0(const std::string& bytes);

}  // namespace prealign
