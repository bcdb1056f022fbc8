// Generation under a policy: load, tokenize the prompt (tag parsing off), force
// the policy's start tags, then decode token by token with the KV cache,
// recording per token the state, chosen probability and temptation.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "decode/generate_options.hpp"
#include "decode/policy.hpp"
#include "decode/rule_engine.hpp"
#include "decode/sampler.hpp"
#include "model/llama.hpp"

namespace prealign {

// One of the most likely tokens at a position, under the raw logits.
struct RawAlternative {
  int id = 0;
  std::string text;  // as TokenRecord::text
  float p = 0.f;     // raw probability
};

struct TokenRecord {
  int id = 0;
  std::string text;      // token_bytes (tags: their name)
  bool is_tag = false;
  std::string state;     // policy state in which the token was generated
  float p_chosen = 0.f;  // probability under the final sampling distribution
  float p_raw = 0.f;     // probability under softmax of the raw logits
  // The GenerateOptions::top_raw most likely tokens under the raw logits (any
  // token, tags included), most likely first, ties by lower id.
  std::vector<RawAlternative> top_raw;
  std::vector<std::pair<std::string, float>> temptation;  // banned tag -> raw probability
  float temptation_total = 0.f;
  std::vector<std::string> flags;  // temptation rules, "flag" rules (and monitors) that fired
  // Readings of monitors attached to the decode loop (e.g. a mode probe), by name.
  std::vector<std::pair<std::string, float>> monitor;
  // The policy's dynamic rules that fired at this token (decode/rule_engine.hpp),
  // with what each did; rules fired by the context before the first token are
  // recorded on the first one.
  std::vector<RuleFiring> rules;
  // The policy of the file the token was sampled under; "" when the file has
  // only one (no rule can switch).
  std::string policy;
};

struct Generation {
  std::string prompt;
  std::string text;            // generated text, tags removed
  std::string text_with_tags;  // generated text, tags rendered by name
  std::vector<int> context;    // tokens fed before generation (BOS, start tags, prompt)
  std::vector<TokenRecord> tokens;
  std::string finish_reason;   // "eos" | "stop_tag" | "length" | "temptation" | "rule" | "cancelled"
  std::string stopped_by;      // label of the temptation stop rule ("temptation") or end rule ("rule")
  float max_temptation = 0.f, mean_temptation = 0.f;  // over tokens' temptation_total
  int flags = 0;               // flag rules fired, summed over tokens
};

// The chain GenerateOptions describe: policy, temperature, top-k, top-p, then
// greedy or distribution (temperature 0 means greedy). `policy_stage`, if given,
// receives the chain's policy stage (to read the current state). `context_length`:
// tokens before the first sampled one, which GenerateOptions::min_length counts.
SamplerChain make_sampler_chain(const Policy& policy, const GenerateOptions& options,
                                PolicyStage** policy_stage = nullptr, int context_length = 0);

// The decode loop over a ready context, for trusted callers that build it
// themselves (chat templates, tests): `context` may hold tag ids, `state` is
// the policy state after it, `token_text` gives a non-tag token's bytes.
// Generator::generate is context_for(prompt) + this.
Generation decode_context(LlamaModel& model, const Policy& policy, const std::vector<int>& context, int state,
                          const GenerateOptions& options, const std::function<std::string(int)>& token_text);

// Several contexts decoded together: a BatchEngine (decode/batch_engine.hpp)
// run until every sequence is done, one forward pass per position for all of
// them (left-padded prefill; finished sequences leave the batch). Sequence i has
// its own policy state states[i] and seed seeds[i] and gets what decode_context
// gives it alone, up to float rounding in the batched products. A decoding
// error (e.g. non-finite logits) is thrown.
// `on_token`, if given, sees each token as it is chosen (sequence index, record);
// returning false ends that sequence ("cancelled": a client went away).
using TokenCallback = std::function<bool(size_t sequence, const TokenRecord& token)>;
// A monitor on the residual stream, next to temptation: called for every chosen
// token with the per-layer residual (C) at the position whose logits chose it;
// it may add readings and flags to the record. Given one, the loop asks the
// model for its residual stream (src/eval/probe.hpp makes probes into monitors).
using ResidualMonitor =
    std::function<void(size_t sequence, const std::vector<torch::Tensor>& residual, TokenRecord& token)>;
std::vector<Generation> decode_batch(LlamaModel& model, const Policy& policy,
                                     const std::vector<std::vector<int>>& contexts, const std::vector<int>& states,
                                     const GenerateOptions& options, const std::vector<uint64_t>& seeds,
                                     const std::function<std::string(int)>& token_text,
                                     const TokenCallback& on_token = nullptr, const ResidualMonitor& monitor = nullptr);

// [BOS] + start tags (before_prompt) + encode(prompt) + start tags (after_prompt):
// the prompt as plain text (tag parsing off) in the policy's mode.
// `context_tags` (ids of context or band tags, seed 004) go right after BOS, where
// training puts a document's context tags: before the policy's start tags.
std::vector<int> prompt_context(const Tokenizer& tokenizer, const Policy& policy, const std::string& prompt,
                                const std::vector<int>& context_tags = {});

// Keeps references to the tokenizer and policy: both must outlive the generator.
class Generator {
 public:
  Generator(LlamaModel model, const Tokenizer& tokenizer, const Policy& policy);
  Generation generate(const std::string& prompt, const GenerateOptions& options);
  // generate() for many prompts at once (decode_batch); prompt i samples with seeds[i].
  std::vector<Generation> generate_batch(const std::vector<std::string>& prompts, const GenerateOptions& options,
                                         const std::vector<uint64_t>& seeds, const TokenCallback& on_token = nullptr,
                                         const ResidualMonitor& monitor = nullptr);
  // prompt_context under this generator's policy and context tags.
  std::vector<int> context_for(const std::string& prompt) const;
  // Context or band tags every generation starts with (ids; after BOS, before the policy's start tags).
  void set_context_tags(std::vector<int> ids) { context_tags_ = std::move(ids); }

 private:
  LlamaModel model_;
  std::vector<int> context_tags_;
  const Tokenizer& tokenizer_;
  const Policy& policy_;
};

json generation_to_json(const Generation& g);

}  // namespace prealign
