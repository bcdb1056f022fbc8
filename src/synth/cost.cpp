#include "synth/cost.hpp"

#include "core/error.hpp"

namespace prealign {

ordered_json CostEstimate::to_json() const {
  ordered_json j;
  j["generated_tokens"] = generated_tokens;
  j["read_tokens"] = read_tokens;
  j["generate_cost_usd"] = generate_cost;
  j["read_cost_usd"] = read_cost;
  j["total_usd"] = total;
  j["usd_per_million_corpus_tokens"] = per_million_corpus_tokens;
  return j;
}

CostEstimate actual_cost(double generated, double read, double corpus_tokens, const CostModel& p) {
  require(generated >= 0 && read >= 0 && corpus_tokens > 0, "synth cost", "token counts must be non-negative",
          "and the corpus must have tokens");
  CostEstimate e;
  e.generated_tokens = generated;
  e.read_tokens = read;
  e.generate_cost = generated / 1e6 * p.price_generate_per_million;
  e.read_cost = read / 1e6 * p.price_read_per_million;
  e.total = e.generate_cost + e.read_cost;
  e.per_million_corpus_tokens = e.total / (corpus_tokens / 1e6);
  return e;
}

CostEstimate estimate_cost(const CostModel& m) {
  require(m.generate_fraction >= 0 && m.generate_fraction <= 1, "--generate-fraction", "must be within [0, 1]");
  require(m.passes >= 0, "--passes", "must be non-negative");
  const double token_passes = m.corpus_tokens * m.passes;
  return actual_cost(token_passes * m.generate_fraction, token_passes * (1 - m.generate_fraction), m.corpus_tokens, m);
}

}  // namespace prealign
