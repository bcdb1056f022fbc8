// The cost model of seed 000 for an LLM-made synthetic corpus: every token of
// the final corpus is passed over `passes` times; a `generate_fraction` of those
// passes writes text (billed at the generation price) and the rest only reads it
// for review (billed at the reading price). The seed's figures: 1e15 tokens, 10
// passes, 25% generation, $7.50 / $2.50 per million tokens -> about $37.5 billion.
#pragma once
#include "core/json_io.hpp"

namespace prealign {

struct CostModel {
  double corpus_tokens = 1e15;
  double passes = 10;
  double generate_fraction = 0.25;
  double price_generate_per_million = 7.50;
  double price_read_per_million = 2.50;
};

struct CostEstimate {
  double generated_tokens = 0, read_tokens = 0;
  double generate_cost = 0, read_cost = 0, total = 0;
  double per_million_corpus_tokens = 0;  // total / (corpus_tokens / 1e6)
  ordered_json to_json() const;
};

CostEstimate estimate_cost(const CostModel& m);
// The same accounting for measured token counts (what a pipeline actually spent).
CostEstimate actual_cost(double generated_tokens, double read_tokens, double corpus_tokens, const CostModel& prices);

}  // namespace prealign
