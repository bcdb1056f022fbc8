// One sequence being decoded: its sampler chain, policy state, dynamic rules,
// random stream and record. Whoever runs the model (decode_batch, a serving engine, beam
// search) hands it one position's raw logits at a time, so a sequence decodes
// the same alone, in a fixed batch, or joining a running one.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "decode/generator.hpp"

namespace prealign {

// Text, text_with_tags and the temptation summaries of a Generation from its
// token records (recomputed from scratch: safe to call again).
void summarize_generation(Generation& g);

class SequenceDecoder {
 public:
  // `policy` must outlive the decoder. `state` is the policy state after `context`.
  SequenceDecoder(const Policy& policy, const GenerateOptions& options, const std::vector<int>& context, int state,
                  uint64_t seed);
  SequenceDecoder(SequenceDecoder&&) = default;

  // Takes one position's raw logits (vocabulary size); returns the chosen token
  // and appends its record. `monitor`, if given, adds its readings to the
  // record (a probe on the residual that gave these logits) before the
  // policy's rules read them. done() turns true when the sequence ends: a stop
  // rule or an end rule fired, EOS, a stop tag, max_new_tokens, or the model's
  // context (`max_len` positions) has no room to feed the chosen token back.
  // The length counted is this sequence's own, whatever padding a batch adds.
  int step(const std::vector<float>& logits, int64_t max_len, const std::function<std::string(int)>& token_text,
           const std::function<void(TokenRecord&)>& monitor = nullptr);

  bool done() const { return done_; }
  // Ends the sequence from outside with this finish_reason ("cancelled": a
  // client went away or the server is shutting down). No-op once done.
  void finish(const std::string& reason);
  const Generation& generation() const { return g_; }
  TokenRecord& last_token() { return g_.tokens.back(); }
  int state() const;  // in active_policy()
  // The policy of the file the next token is sampled under (rules may switch).
  const Policy& active_policy() const;
  // The finished record with its text and temptation summaries; the decoder is spent.
  Generation take();

 private:
  const Policy& policy_;
  GenerateOptions options_;
  PolicyStage* stage_ = nullptr;  // owned by chain_
  SamplerChain chain_;
  Rng rng_;
  RuleEngine rules_;
  std::vector<RuleFiring> fired_at_start_;  // context rules: recorded on the first token
  std::vector<std::string> flags_at_start_;
  Generation g_;
  bool done_ = false;
};

}  // namespace prealign
