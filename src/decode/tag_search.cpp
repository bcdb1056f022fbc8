// What beam search and best-of share: the options, the score, the policy's
// distribution at a position, and the summaries of a chosen continuation.
#include "decode/tag_search.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "decode/sampler.hpp"
#include "decode/temptation.hpp"

namespace prealign {

void SearchOptions::check() {
  if (beam < 0) fail("--beam", "must be >= 0, got " + std::to_string(beam));
  if (search == "sample" && beam > 0) search = "beam";  // --beam N alone
  if (search != "sample" && search != "best-of" && search != "beam")
    fail("--search", "unknown search \"" + search + "\"", "use sample, best-of or beam");
  if (search != "sample" && beam < 1) fail("--beam", "--search " + search + " needs --beam N (N >= 1)");
  if (!(prune_temptation >= 0.0)) fail("--prune-temptation", "must be >= 0 (1 = off)");
  if (!(temptation_penalty >= 0.0) || !std::isfinite(temptation_penalty))
    fail("--temptation-penalty", "must be a finite number >= 0",
         "a negative penalty would reward temptation and break beam search's early stop");
  if (penalty_over != "sum" && penalty_over != "max") fail("--penalty-over", "must be sum or max");
  if (!(length_norm >= 0.0) || !std::isfinite(length_norm)) fail("--length-norm", "must be a finite number >= 0");
}

double search_score(const ScoredContinuation& c, const SearchOptions& o) {
  const double score = c.logprob - o.temptation_penalty * c.temptation;
  if (o.length_norm == 0.0 || c.tokens == 0) return score;
  return score / std::pow(static_cast<double>(c.tokens), o.length_norm);
}

size_t choose_best(const std::vector<ScoredContinuation>& c, const SearchOptions& o, bool* fallback) {
  if (c.empty()) fail("search", "nothing to choose from");
  size_t best = c.size();
  for (size_t i = 0; i < c.size(); ++i) {
    if (c[i].max_temptation > o.prune_temptation) continue;
    if (best == c.size() || search_score(c[i], o) > search_score(c[best], o)) best = i;
  }
  if (fallback) *fallback = best == c.size();
  if (best < c.size()) return best;
  best = 0;
  for (size_t i = 1; i < c.size(); ++i)
    if (c[i].max_temptation < c[best].max_temptation) best = i;
  return best;
}

std::vector<double> policy_log_probs(const Policy& policy, int state, const float* raw_logits, int vocab) {
  // The very stage sampling runs, so bans, the end rule and biases agree with it.
  PolicyStage stage(policy);
  stage.set_state(state);
  Candidates c;
  c.reset(raw_logits, vocab);
  static thread_local Rng unused(0);
  stage.apply(c, unused);
  std::vector<float> adjusted(static_cast<size_t>(vocab));
  for (int i = 0; i < vocab; ++i) adjusted[static_cast<size_t>(i)] = c.items[static_cast<size_t>(i)].logit;
  const double lse = log_sum_exp(adjusted.data(), vocab);
  if (!std::isfinite(lse))
    fail("search", "every token is banned or the logits are not finite in state " + policy.state(state).name);
  std::vector<double> out(static_cast<size_t>(vocab));
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = std::isinf(adjusted[i]) && adjusted[i] < 0 ? -std::numeric_limits<double>::infinity()
                                                         : static_cast<double>(adjusted[i]) - lse;
  return out;
}

json SearchStats::to_json() const {
  json j = {{"method", method},         {"width", width},       {"forward_tokens", forward_tokens},
            {"expansions", expansions}, {"pruned", pruned},     {"fallbacks", fallbacks},
            {"steps", steps},           {"logprob", logprob},   {"raw_logprob", raw_logprob},
            {"temptation", temptation}, {"score", score}};
  if (method == "beam") j["finished"] = finished;
  if (method == "best-of") j["chosen"] = chosen;
  return j;
}

}  // namespace prealign
