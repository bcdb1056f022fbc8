// Beam search under the policy with tag pruning. Each step: every live beam's
// raw logits -> temptation (banned-tag mass in its own policy state) -> pruned
// if over the threshold, else its N best allowed tokens become candidates ->
// the N best candidates overall survive; those that end (EOS, stop tag, stop
// rule, length) are set aside as finished hypotheses. One forward per step for
// all beams: the LogitsSource reorders its rows (KV cache) after the survivors.
#include <algorithm>
#include <cmath>
#include <memory>

#include "core/error.hpp"
#include "decode/sequence_decoder.hpp"
#include "decode/tag_search.hpp"
#include "decode/temptation.hpp"

namespace prealign {

namespace {

// Beams share their prefixes: each token is a node pointing at its parent.
struct Node {
  std::shared_ptr<const Node> parent;
  TokenRecord record;
};

struct Hypothesis {
  std::shared_ptr<const Node> last;  // null before the first token
  int state = 0;
  ScoredContinuation parts;
  double score = 0;
  std::string finish_reason, stopped_by;
};

// One live beam's position, measured once for all its candidates.
struct Position {
  size_t beam = 0;
  Temptation temptation;
  FiredRules fired;
  std::vector<double> log_probs;  // p_policy
};

struct Expansion {
  size_t position = 0;  // index into the step's expanded positions
  int token = 0;
  ScoredContinuation parts;
  double score = 0;
};

ScoredContinuation extend_parts(const ScoredContinuation& p, double logprob, double raw_logprob, double temptation,
                                const SearchOptions& o) {
  ScoredContinuation c = p;
  c.logprob += logprob;
  c.raw_logprob += raw_logprob;
  c.temptation = o.penalty_over == "max" ? std::max(c.temptation, temptation) : c.temptation + temptation;
  c.max_temptation = std::max(c.max_temptation, temptation);
  c.tokens += 1;
  return c;
}

// The `k` allowed tokens of highest log-probability, best first (ties: lower id).
std::vector<int> best_tokens(const std::vector<double>& log_probs, size_t k) {
  std::vector<int> ids;
  for (size_t i = 0; i < log_probs.size(); ++i)
    if (!std::isinf(log_probs[i])) ids.push_back(static_cast<int>(i));
  k = std::min(k, ids.size());
  std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(k), ids.end(), [&](int a, int b) {
    const double la = log_probs[static_cast<size_t>(a)], lb = log_probs[static_cast<size_t>(b)];
    return la > lb || (la == lb && a < b);
  });
  ids.resize(k);
  return ids;
}

TokenRecord make_record(const Policy& policy, const Hypothesis& h, const Position& at, int token,
                        const float* raw_logits, const std::function<std::string(int)>& token_text) {
  TokenRecord r;
  r.id = token;
  r.is_tag = policy.is_tag(token);
  r.text = r.is_tag ? policy.tag_name(token) : token_text(token);
  r.state = policy.state(h.state).name;
  // The search's distribution is the policy's at temperature 1.
  r.p_chosen = static_cast<float>(std::exp(at.log_probs[static_cast<size_t>(token)]));
  r.p_raw = static_cast<float>(std::exp(double(raw_logits[token]) - at.temptation.log_sum_exp));
  for (const auto& [id, p] : at.temptation.per_tag) r.temptation.emplace_back(policy.tag_name(id), p);
  r.temptation_total = at.temptation.total;
  r.flags = at.fired.flags;
  return r;
}

// Why a hypothesis ends after this token, or "" if it goes on (as SequenceDecoder decides).
std::string end_reason(const Policy& policy, const Position& at, int token, int tokens, size_t context,
                       const GenerateOptions& g, int64_t max_len) {
  if (!at.fired.stops.empty()) return "temptation";
  if (token == policy.eos_id()) return "eos";
  if (policy.is_stop_tag(token)) return "stop_tag";
  const int64_t in_model = static_cast<int64_t>(context) + tokens - 1;  // the new token is not fed yet
  if (tokens == g.max_new_tokens || in_model >= max_len) return "length";
  return "";
}

Generation to_generation(const Hypothesis& h, const std::vector<int>& context) {
  Generation g;
  g.context = context;
  for (const Node* n = h.last.get(); n; n = n->parent.get()) g.tokens.push_back(n->record);
  std::reverse(g.tokens.begin(), g.tokens.end());
  g.finish_reason = h.finish_reason;
  g.stopped_by = h.stopped_by;
  summarize_generation(g);
  return g;
}

}  // namespace

SearchResult beam_search(LogitsSource& source, const Policy& policy, const std::vector<int>& context, int state,
                         const GenerateOptions& generate, const SearchOptions& search,
                         const std::function<std::string(int)>& token_text) {
  if (search.beam < 1) fail("--beam", "beam search needs at least one beam");
  if (generate.max_new_tokens < 0) fail("--max-new-tokens", "must be >= 0");
  if (generate.min_length > 0 || generate.max_length > 0)
    fail("--min-length/--max-length", "beam search does not take them", "use --max-new-tokens");
  const int vocab = source.vocab_size();
  if (policy.vocab_size() != vocab)
    fail("policy " + policy.name(), "built for a vocabulary of " + std::to_string(policy.vocab_size()) +
                                        " tokens, the model has " + std::to_string(vocab));
  // Beams branch and merge, so one rule engine per sequence has no meaning
  // here; best-of runs rules (each sample is a SequenceDecoder).
  if (policy.has_rules())
    fail("policy " + policy.name(), "has dynamic rules, which beam search does not run; use --search best-of or sample");
  const size_t width = static_cast<size_t>(search.beam);
  SearchResult result;
  SearchStats& stats = result.stats;
  stats.method = "beam";
  stats.width = search.beam;
  Hypothesis root;
  root.state = state;
  root.finish_reason = "length";
  if (generate.max_new_tokens == 0) {
    result.generation = to_generation(root, context);
    return result;
  }

  const int64_t forward_before = source.forward_tokens();
  std::vector<Hypothesis> live{root}, finished;
  RowLogits logits = source.start(context, 1);
  while (true) {
    // 1. Measure every live beam's position; prune the tempted ones.
    std::vector<Position> measured, positions;
    for (size_t b = 0; b < live.size(); ++b) {
      Position at;
      at.beam = b;
      at.temptation = measure_temptation(logits.row(int64_t(b)), vocab, policy.state(live[b].state).banned);
      if (!std::isfinite(at.temptation.log_sum_exp))
        fail("generate", "the model produced non-finite logits", "the checkpoint is probably damaged");
      measured.push_back(std::move(at));
    }
    for (const Position& at : measured) {
      if (at.temptation.total > search.prune_temptation) {
        ++stats.pruned;
      } else {
        positions.push_back(at);
      }
    }
    if (positions.empty()) {
      if (!finished.empty()) break;  // every live branch was pruned: the finished ones stand
      // Nothing finished yet: keep the least tempted branch (ties: the better beam).
      size_t keep = 0;
      for (size_t b = 1; b < measured.size(); ++b)
        if (measured[b].temptation.total < measured[keep].temptation.total) keep = b;
      positions.push_back(measured[keep]);
      ++stats.fallbacks;
      --stats.pruned;  // kept after all
    }
    // 2. Each expanded beam's best `width` tokens are the only ones that can make the overall best `width`.
    std::vector<Expansion> candidates;
    for (size_t p = 0; p < positions.size(); ++p) {
      Position& at = positions[p];
      const Hypothesis& h = live[at.beam];
      const float* raw = logits.row(int64_t(at.beam));
      at.log_probs = policy_log_probs(policy, h.state, raw, vocab);
      at.fired = check_temptation_rules(policy, at.temptation);
      ++stats.expansions;
      for (int t : best_tokens(at.log_probs, width)) {
        Expansion c;
        c.position = p;
        c.token = t;
        c.parts = extend_parts(h.parts, at.log_probs[size_t(t)], double(raw[t]) - at.temptation.log_sum_exp,
                               at.temptation.total, search);
        c.score = c.parts.logprob - search.temptation_penalty * c.parts.temptation;
        candidates.push_back(c);
      }
    }
    const size_t keep = std::min(width, candidates.size());
    std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(keep), candidates.end(),
                      [](const Expansion& a, const Expansion& b) {
                        if (a.score != b.score) return a.score > b.score;
                        if (a.position != b.position) return a.position < b.position;
                        return a.token < b.token;
                      });
    candidates.resize(keep);
    ++stats.steps;

    // 3. Survivors: the finished set aside, the others fed to the model.
    std::vector<Hypothesis> next;
    std::vector<int64_t> parents;
    std::vector<int> tokens;
    for (const Expansion& c : candidates) {
      const Position& at = positions[c.position];
      const Hypothesis& h = live[at.beam];
      Hypothesis n;
      auto node = std::make_shared<Node>();
      node->parent = h.last;
      node->record = make_record(policy, h, at, c.token, logits.row(int64_t(at.beam)), token_text);
      n.last = std::move(node);
      n.state = policy.next_state(h.state, c.token);
      n.parts = c.parts;
      n.score = search_score(c.parts, search);
      n.finish_reason = end_reason(policy, at, c.token, c.parts.tokens, context.size(), generate, source.max_len());
      if (n.finish_reason == "temptation") n.stopped_by = at.fired.stops.front();
      if (!n.finish_reason.empty()) {
        finished.push_back(std::move(n));
        continue;
      }
      parents.push_back(static_cast<int64_t>(at.beam));
      tokens.push_back(c.token);
      next.push_back(std::move(n));
    }
    if (next.empty()) break;
    // Without length normalisation a score only falls as a hypothesis grows
    // (log-probabilities <= 0, penalty >= 0): once a finished one is at least
    // as good as every live one, nothing live can win.
    if (search.length_norm == 0.0 && !finished.empty()) {
      double best_finished = finished.front().score, best_live = next.front().score;
      for (const auto& f : finished) best_finished = std::max(best_finished, f.score);
      for (const auto& l : next) best_live = std::max(best_live, l.score);
      if (best_finished >= best_live) break;
    }
    logits = source.extend(parents, tokens);
    live = std::move(next);
  }

  // The best finished hypothesis (ties: the one that finished first).
  size_t best = 0;
  for (size_t i = 1; i < finished.size(); ++i)
    if (finished[i].score > finished[best].score) best = i;
  const Hypothesis& h = finished[best];
  result.generation = to_generation(h, context);
  stats.finished = static_cast<int64_t>(finished.size());
  stats.forward_tokens = source.forward_tokens() - forward_before;
  stats.logprob = h.parts.logprob;
  stats.raw_logprob = h.parts.raw_logprob;
  stats.temptation = h.parts.temptation;
  stats.score = h.score;
  return result;
}

}  // namespace prealign
