// `prealign synth llm`: seed-000 documents written by an OpenAI-compatible chat
// endpoint. Per scenario: a prompt template filled from the world's inventories,
// one generation, review passes (a grader answers ACCEPT, REJECT or EDIT with a
// corrected document), then `lint` as the last gate. Each scenario's outcome is
// written atomically to <out>/scenarios/<id>.json, so a rerun skips finished
// scenarios (resumable, idempotent per id); the accepted documents are then
// assembled into <out>/corpus.jsonl and the token accounting and cost (the seed's
// cost model, synth/cost.hpp) into <out>/report.json.
#pragma once
#include <cstdint>
#include <string>

#include "core/json_io.hpp"
#include "synth/cost.hpp"

namespace prealign {

struct LlmSynthOptions {
  std::string base_url = "http://127.0.0.1:8080";  // the endpoint is <base_url>/v1/chat/completions
  std::string model = "gpt-4o";
  std::string api_key_env = "OPENAI_API_KEY";      // the key is read from this variable (may be unset)
  std::string out;                                  // output directory
  uint64_t scenarios = 10, seed = 1;
  int review_passes = 1;
  int concurrency = 2;
  int max_retries = 4;
  int backoff_ms = 500;  // doubled after every failed attempt
  int timeout_s = 120;
  double temperature = 0.8;
  CostModel prices;      // price_generate / price_read per million tokens
};

struct LlmSynthSummary {
  uint64_t scenarios = 0, skipped_done = 0, accepted = 0, rejected = 0, edited = 0, lint_rejected = 0, failed = 0;
  uint64_t requests = 0, retries = 0, prompt_tokens = 0, completion_tokens = 0;
  ordered_json to_json() const;
};

LlmSynthSummary run_llm_synth(const LlmSynthOptions& options);

// The user prompt of scenario `index` (which document kind, which people and topic).
json llm_scenario(uint64_t seed, uint64_t index);

}  // namespace prealign
