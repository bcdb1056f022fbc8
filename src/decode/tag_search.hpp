// Tag-pruned search (seed 004: "the behaviour tag tokens label tree branches
// containing the behaviour, letting you prune them fast"). Two searches over
// continuations decoded under the policy, scored the same way:
//
//   score = (log p_policy(continuation) - lambda * temptation) / tokens^alpha
//
// where p_policy is the distribution the policy leaves (banned tokens removed,
// biases added, temperature 1, no truncation: what sampling at temperature 1
// draws from), `temptation` is the sum (or max) over the continuation's
// positions of the raw probability of the tags banned there, and a branch is
// *pruned* when the banned-tag mass at its last position is over
// --prune-temptation: the model wanted to leave the allowed states there.
//
// - beam_search: N beams, one model row each, all advanced by one forward per
//   step; each beam's policy state is its own. docs/search.md.
// - best_of: N samples drawn as `generate` draws them (SequenceDecoder, same
//   seeds), the best by the score; a sample with any position over the
//   threshold is disqualified.
//
// Both take their logits from a LogitsSource, so they run on a model
// (ModelLogits) or on stubbed logits in tests.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "decode/generator.hpp"
#include "decode/logits_source.hpp"

namespace prealign {

struct SearchOptions {
  std::string search = "sample";  // sample | best-of | beam
  int beam = 0;                   // N: beams (beam) or samples (best-of); --beam alone means beam search
  double prune_temptation = 1.0;  // prune a branch whose banned-tag mass is over this (1 = never)
  double temptation_penalty = 0;  // lambda
  std::string penalty_over = "sum";  // sum | max of the per-position temptation
  double length_norm = 0;            // alpha: the score is divided by tokens^alpha (0 = off)

  template <class V>
  void visit(V& v) {
    v("search", search, "sample | best-of | beam (best-of and beam: docs/search.md)");
    v("beam", beam, "N beams (beam) or samples (best-of); given alone it means --search beam");
    v("prune_temptation", prune_temptation,
      "prune a branch where the raw probability of the banned tags is over this (1 = off)");
    v("temptation_penalty", temptation_penalty, "lambda: score = log-prob - lambda * temptation");
    v("penalty_over", penalty_over, "the temptation penalised: sum or max over the continuation's positions");
    v("length_norm", length_norm, "alpha: divide the score by (generated tokens)^alpha (0 = off)");
  }
  // Errors name the flag; resolves --beam alone into --search beam.
  void check();
};

// What a search chose and what it cost.
struct SearchStats {
  std::string method;          // beam | best-of
  int width = 0;               // N
  int64_t forward_tokens = 0;  // token positions fed to the model (context once, one per row per step)
  int64_t expansions = 0;      // beam: branches expanded; best-of: sampled positions
  int64_t pruned = 0;          // beam: branches pruned; best-of: samples disqualified
  int64_t fallbacks = 0;       // every branch (sample) over the threshold: the least tempted was kept
  int64_t finished = 0;        // beam: hypotheses that ended
  int steps = 0;               // positions advanced
  int chosen = 0;              // best-of: index of the sample chosen
  // The chosen continuation's score and its parts.
  double logprob = 0, raw_logprob = 0, temptation = 0, score = 0;
  json to_json() const;
};

// One candidate continuation's parts, as both searches compute them.
struct ScoredContinuation {
  double logprob = 0;      // sum of log p_policy
  double raw_logprob = 0;  // sum of log softmax(raw logits)
  double temptation = 0;   // sum or max over positions (SearchOptions::penalty_over)
  double max_temptation = 0;
  int tokens = 0;
  bool pruned = false;     // some position over the threshold
};
double search_score(const ScoredContinuation& c, const SearchOptions& options);
// The continuation best-of picks: the best score among those whose max
// temptation is not over options.prune_temptation; if every one is over, the
// least tempted (lowest max temptation) and *fallback is set. Ties: lower index.
size_t choose_best(const std::vector<ScoredContinuation>& candidates, const SearchOptions& options,
                   bool* fallback = nullptr);

// log p_policy of every token at a position in policy state `state`: the raw
// logits after PolicyStage's bans and biases, normalised (-inf where banned).
std::vector<double> policy_log_probs(const Policy& policy, int state, const float* raw_logits, int vocab);

struct SearchResult {
  Generation generation;  // the chosen continuation, per-token records as sampling gives them
  SearchStats stats;
  // best-of: every sample and its score parts (the chosen one is stats.chosen).
  std::vector<Generation> samples;
  std::vector<ScoredContinuation> sample_scores;
};

// `context` and `state` as decode_context takes them. GenerateOptions: the
// length (max_new_tokens) for both; best_of samples with its temperature,
// top-k, top-p and `seeds` (one per sample, N = seeds.size()).
SearchResult beam_search(LogitsSource& source, const Policy& policy, const std::vector<int>& context, int state,
                         const GenerateOptions& generate, const SearchOptions& search,
                         const std::function<std::string(int)>& token_text);
SearchResult best_of(LogitsSource& source, const Policy& policy, const std::vector<int>& context, int state,
                     const GenerateOptions& generate, const SearchOptions& search, const std::vector<uint64_t>& seeds,
                     const std::function<std::string(int)>& token_text);


}  // namespace prealign
