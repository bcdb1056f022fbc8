// Best-of-N: N samples drawn exactly as `generate` draws them (one
// SequenceDecoder per sample, its own seed and policy state), the prompt fed
// once and its cache row copied; each sample scored along the way from the
// same logits its token was drawn from; the best eligible sample wins.
#include <cmath>

#include "core/error.hpp"
#include "decode/sequence_decoder.hpp"
#include "decode/tag_search.hpp"
#include "decode/temptation.hpp"

namespace prealign {

SearchResult best_of(LogitsSource& source, const Policy& policy, const std::vector<int>& context, int state,
                     const GenerateOptions& generate, const SearchOptions& search, const std::vector<uint64_t>& seeds,
                     const std::function<std::string(int)>& token_text) {
  if (seeds.empty()) fail("--beam", "best-of needs at least one sample");
  if (generate.max_new_tokens < 0) fail("--max-new-tokens", "must be >= 0");
  const int vocab = source.vocab_size();
  if (policy.vocab_size() != vocab)
    fail("policy " + policy.name(), "built for a vocabulary of " + std::to_string(policy.vocab_size()) +
                                        " tokens, the model has " + std::to_string(vocab));
  SearchResult result;
  SearchStats& stats = result.stats;
  stats.method = "best-of";
  stats.width = static_cast<int>(seeds.size());
  std::vector<SequenceDecoder> samples;
  samples.reserve(seeds.size());
  for (uint64_t seed : seeds) samples.emplace_back(policy, generate, context, state, seed);
  std::vector<ScoredContinuation> parts(seeds.size());

  const int64_t forward_before = source.forward_tokens();
  if (generate.max_new_tokens > 0) {
    RowLogits logits = source.start(context, static_cast<int64_t>(seeds.size()));
    std::vector<size_t> rows(seeds.size());  // logits row -> sample
    for (size_t i = 0; i < rows.size(); ++i) rows[i] = i;
    while (true) {
      std::vector<int64_t> parents;
      std::vector<int> tokens;
      std::vector<size_t> next_rows;
      for (size_t r = 0; r < rows.size(); ++r) {
        SequenceDecoder& s = samples[rows[r]];
        const float* raw = logits.row(int64_t(r));
        const std::vector<double> log_probs = policy_log_probs(s.active_policy(), s.state(), raw, vocab);
        const int token = s.step(logits.row_vector(int64_t(r)), source.max_len(), token_text);
        const TokenRecord& rec = s.generation().tokens.back();
        ScoredContinuation& p = parts[rows[r]];
        p.logprob += log_probs[size_t(token)];
        p.raw_logprob += double(raw[token]) - log_sum_exp(raw, vocab);
        const double t = rec.temptation_total;
        p.temptation = search.penalty_over == "max" ? std::max(p.temptation, t) : p.temptation + t;
        p.max_temptation = std::max(p.max_temptation, t);
        p.pruned = p.pruned || t > search.prune_temptation;
        p.tokens += 1;
        ++stats.expansions;
        if (s.done()) continue;
        parents.push_back(static_cast<int64_t>(r));
        tokens.push_back(token);
        next_rows.push_back(rows[r]);
      }
      ++stats.steps;
      if (parents.empty()) break;
      logits = source.extend(parents, tokens);
      rows = std::move(next_rows);
    }
  }
  for (auto& s : samples) result.samples.push_back(s.take());
  result.sample_scores = parts;
  bool fallback = false;
  const size_t best = choose_best(parts, search, &fallback);
  for (const ScoredContinuation& p : parts) stats.pruned += p.pruned ? 1 : 0;
  stats.fallbacks = fallback ? 1 : 0;
  result.generation = result.samples[best];
  stats.chosen = static_cast<int>(best);
  stats.forward_tokens = source.forward_tokens() - forward_before;
  stats.logprob = parts[best].logprob;
  stats.raw_logprob = parts[best].raw_logprob;
  stats.temptation = parts[best].temptation;
  stats.score = search_score(parts[best], search);
  return result;
}

}  // namespace prealign
