// Temptation costs one pass over the vocabulary per generated token, which must
// stay a small fraction of a forward pass (~0.4 ms for the tiny preset). With
// libm's scalar exp the pass over 4096 logits took 15-25 us; the blocked,
// branch-free loops below let GCC's -O2 vectorizer use SIMD and bring it to
// ~5 us, about 1% of the step (measured, see docs/formats.md, Policy).
#include "decode/temptation.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "decode/policy.hpp"

namespace prealign {

namespace {

constexpr int kLanes = 8;

// exp(x) for 8 values x <= 0 in place (Cephes-style: x = n ln2 + r, polynomial
// for exp(r), 2^n through the exponent bits; relative error < 1e-7). Values
// below -87 become ~1e-38 instead of underflowing, negligible in a sum >= 1.
// Written as fixed-length loops without branches so they vectorize.
void exp8_nonpositive(float* x) {
  float n[kLanes];
  int32_t bits[kLanes];
  for (int j = 0; j < kLanes; ++j) x[j] = x[j] < -87.0f ? -87.0f : x[j];
  // round(x / ln2) with the 1.5 * 2^23 trick (no call, so it vectorizes)
  for (int j = 0; j < kLanes; ++j) n[j] = (x[j] * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  for (int j = 0; j < kLanes; ++j) {
    const float r = x[j] - n[j] * 0.693359375f + n[j] * 2.12194440e-4f;  // ln2 split in two parts
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    x[j] = p * r * r + r + 1.0f;
  }
  for (int j = 0; j < kLanes; ++j) bits[j] = (static_cast<int32_t>(n[j]) + 127) << 23;
  float scale[kLanes];
  std::memcpy(scale, bits, sizeof scale);
  for (int j = 0; j < kLanes; ++j) x[j] *= scale[j];
}

// Largest logit, ignoring NaN (NaN still poisons the sum below, as it should).
float max_logit(const float* l, int n) {
  float lane[kLanes];
  for (int j = 0; j < kLanes; ++j) lane[j] = -std::numeric_limits<float>::infinity();
  int i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) lane[j] = l[i + j] > lane[j] ? l[i + j] : lane[j];
  float m = -std::numeric_limits<float>::infinity();
  for (int j = 0; j < kLanes; ++j) m = lane[j] > m ? lane[j] : m;
  for (; i < n; ++i) m = l[i] > m ? l[i] : m;
  return m;
}

}  // namespace

void exp_shifted(const float* in, float shift, float* out, int n) {
  int i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    float x[kLanes];
    for (int j = 0; j < kLanes; ++j) x[j] = in[i + j] - shift;
    exp8_nonpositive(x);
    for (int j = 0; j < kLanes; ++j) out[i + j] = x[j];
  }
  for (; i < n; ++i) out[i] = std::exp(in[i] - shift);
}

double log_sum_exp(const float* logits, int n) {
  const float m = max_logit(logits, n);
  if (m == -std::numeric_limits<float>::infinity()) {
    for (int i = 0; i < n; ++i)
      if (std::isnan(logits[i])) return std::numeric_limits<double>::quiet_NaN();
    return m;  // every logit -inf (or n == 0)
  }
  // Float lanes summed over 32 blocks at most, then flushed into a double, so
  // rounding does not grow with the vocabulary size.
  double sum = 0.0;
  float acc[kLanes] = {0};
  int i = 0;
  for (int block = 0; i + kLanes <= n; i += kLanes, ++block) {
    float x[kLanes];
    for (int j = 0; j < kLanes; ++j) x[j] = logits[i + j] - m;
    exp8_nonpositive(x);
    for (int j = 0; j < kLanes; ++j) acc[j] += x[j];
    if (block % 32 == 31) {
      for (int j = 0; j < kLanes; ++j) sum += acc[j], acc[j] = 0.f;
    }
  }
  for (int j = 0; j < kLanes; ++j) sum += acc[j];
  for (; i < n; ++i) sum += std::exp(static_cast<double>(logits[i]) - m);
  return m + std::log(sum);
}

Temptation measure_temptation(const float* raw_logits, int vocab_size, const std::vector<int>& banned_tags) {
  Temptation t;
  t.log_sum_exp = log_sum_exp(raw_logits, vocab_size);
  const bool defined = std::isfinite(t.log_sum_exp);
  double total = 0.0;
  t.per_tag.reserve(banned_tags.size());
  for (int id : banned_tags) {
    double p = 0.0;
    if (defined && id >= 0 && id < vocab_size) p = std::exp(static_cast<double>(raw_logits[id]) - t.log_sum_exp);
    if (!defined && std::isnan(t.log_sum_exp)) p = std::numeric_limits<double>::quiet_NaN();
    t.per_tag.emplace_back(id, static_cast<float>(p));
    total += p;
  }
  t.total = static_cast<float>(total);
  return t;
}

double watched_temptation(const Temptation& temptation, const std::vector<int>& tags) {
  if (tags.empty()) return temptation.total;
  double value = 0.0;
  for (const auto& [id, p] : temptation.per_tag)  // only banned tags are measured
    if (std::find(tags.begin(), tags.end(), id) != tags.end()) value += p;
  return value;
}

FiredRules check_temptation_rules(const Policy& policy, const Temptation& temptation) {
  FiredRules fired;
  for (const TemptationRule& rule : policy.temptation_rules()) {
    const double value = watched_temptation(temptation, rule.tags);
    if (!(value > rule.threshold)) continue;
    (rule.action == TemptationAction::Stop ? fired.stops : fired.flags).push_back(rule.label);
  }
  return fired;
}

}  // namespace prealign
