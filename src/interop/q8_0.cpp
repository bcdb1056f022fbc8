#include "interop/q8_0.hpp"

#include <c10/util/Half.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.hpp"

namespace prealign {

std::string quantize_q8_0(const float* x, int64_t n) {
  if (n % kQ8_0Block != 0) fail("q8_0", "length " + std::to_string(n) + " is not a multiple of 32");
  std::string out(static_cast<size_t>(n / kQ8_0Block * kQ8_0BlockBytes), '\0');
  char* block = out.data();
  for (int64_t b = 0; b < n; b += kQ8_0Block, block += kQ8_0BlockBytes) {
    float amax = 0.0f;
    for (int i = 0; i < kQ8_0Block; ++i) amax = std::max(amax, std::fabs(x[b + i]));
    const float d = amax / 127.0f;
    const float inv = d != 0.0f ? 1.0f / d : 0.0f;  // as ggml: divide by the float scale, store it as f16
    const uint16_t d16 = c10::Half(d).x;
    std::memcpy(block, &d16, 2);
    for (int i = 0; i < kQ8_0Block; ++i) {
      const auto q = static_cast<int8_t>(std::lround(x[b + i] * inv));  // |x * inv| <= 127
      std::memcpy(block + 2 + i, &q, 1);
    }
  }
  return out;
}

std::vector<float> dequantize_q8_0(const std::string& bytes) {
  if (bytes.size() % kQ8_0BlockBytes != 0) fail("q8_0", "data is not a whole number of 34-byte blocks");
  std::vector<float> x;
  x.reserve(bytes.size() / kQ8_0BlockBytes * kQ8_0Block);
  for (size_t b = 0; b < bytes.size(); b += kQ8_0BlockBytes) {
    c10::Half d;
    std::memcpy(&d.x, bytes.data() + b, 2);
    for (int i = 0; i < kQ8_0Block; ++i)
      x.push_back(static_cast<float>(d) * static_cast<float>(static_cast<int8_t>(bytes[b + 2 + i])));
  }
  return x;
}

}  // namespace prealign
