// Temptation: for one generated position, the probability the model gave to the
// tags the policy bans in the current state, under softmax of the *raw* logits,
// before any ban, bias, temperature or truncation.
#pragma once
#include <utility>
#include <vector>

namespace prealign {

struct Temptation {
  std::vector<std::pair<int, float>> per_tag;  // (banned tag id, probability)
  float total = 0.f;                           // sum over per_tag
  // log sum_i exp(logit_i) over the whole vocabulary: p_raw(t) = exp(logit_t - log_sum_exp).
  // NaN when a logit is NaN or +inf (the model is broken); -inf when every logit is -inf.
  double log_sum_exp = 0.0;
};

// O(V) once, then O(#banned). Exact to ~1e-7 (float exponentials, double sums).
Temptation measure_temptation(const float* raw_logits, int vocab_size, const std::vector<int>& banned_tags);

// The temptation a rule watching `tags` sees: the sum of their probabilities
// where they are banned (a tag allowed here counts 0); empty `tags` = the total.
double watched_temptation(const Temptation& temptation, const std::vector<int>& tags);

// Numerically stable log-sum-exp over n logits (see Temptation::log_sum_exp for the edge cases).
double log_sum_exp(const float* logits, int n);

// out[i] = exp(in[i] - shift) for in[i] <= shift (in == out is fine), SIMD-friendly,
// relative error < 1e-7; results below ~1e-38 (and exp(-inf)) come out as ~1e-38,
// not 0, so callers that need exact zeros for -inf must set them. Used by softmax.
void exp_shifted(const float* in, float shift, float* out, int n);

}  // namespace prealign
