// Tag-pruned search against independent computations: every continuation of a
// tiny model enumerated and scored by full forwards without a cache (beam
// search with room for all of them must find the best), greedy decoding (one
// beam), hand-made logits where the only good-looking branch is tempted, the
// best-of choice recomputed from its samples, and the KV cache rows following
// beams that split, move and die.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "decode/generator.hpp"
#include "decode/logits_source.hpp"
#include "decode/tag_search.hpp"
#include "decode_fixture.hpp"

namespace prealign {
namespace {

using namespace prealign::testing;

std::string text_of(int id) { return "t" + std::to_string(id) + " "; }

LlamaModel random_model(int vocab, uint64_t seed, double scale = 1.0) {
  torch::manual_seed(seed);
  LlamaModel m(ModelConfig::parse("dim=32,layers=2,heads=4,kv_heads=2,hidden=64,ctx=64", vocab));
  torch::NoGradGuard no_grad;
  for (auto& p : m->parameters())  // weights large enough that logits differ clearly between prefixes
    if (p.dim() == 2) p.normal_(0.0, scale / std::sqrt(double(p.size(1))));
  m->eval();
  return m;
}

// ai_mode with a bias on <AI_quoting_human> and no temptation rules: beams
// change state (ai <-> quoted), a stop tag ends some, EOS is banned in "ai".
Policy search_policy(const TagVocabulary& v) {
  return edited_policy("ai_mode", v, [](json& j) {
    j["bias"]["<AI_quoting_human>"] = 1.5;
    j["temptation"] = json::array();
  });
}

std::vector<int> ids_of(const Generation& g) {
  std::vector<int> out;
  for (const TokenRecord& r : g.tokens) out.push_back(r.id);
  return out;
}

// One position, computed here in double from a full forward: the policy's
// distribution and the banned-tag mass.
struct RefPosition {
  std::vector<double> log_p;  // -inf where banned
  double temptation = 0;
};
RefPosition reference_position(LlamaModel& m, const Policy& policy, int state, const std::vector<int>& prefix) {
  const std::vector<float> raw = full_forward_logits(m, prefix);
  const std::vector<double> p_raw = reference_softmax(raw);
  RefPosition r;
  double sum = 0;
  std::vector<double> e(raw.size(), 0.0);
  for (size_t t = 0; t < raw.size(); ++t) {
    if (policy.is_banned(state, int(t))) {
      if (policy.is_tag(int(t))) r.temptation += p_raw[t];
      continue;
    }
    auto b = policy.bias().find(int(t));
    e[t] = std::exp(double(raw[t]) + (b == policy.bias().end() ? 0.0 : b->second));
    sum += e[t];
  }
  for (size_t t = 0; t < raw.size(); ++t)
    r.log_p.push_back(e[t] > 0 ? std::log(e[t] / sum) : -std::numeric_limits<double>::infinity());
  return r;
}

struct Scored {
  std::vector<int> tokens;
  double score;
};

// Every continuation of at most `horizon` tokens, as the search defines them:
// a prefix whose position is over `prune` is never extended; EOS and stop tags end.
void enumerate(LlamaModel& m, const Policy& policy, std::vector<int> prefix, int state, std::vector<int> tokens,
               double logp, double penalty, int horizon, double prune, double lambda, std::vector<Scored>& out) {
  const RefPosition at = reference_position(m, policy, state, prefix);
  if (at.temptation > prune) return;
  for (size_t t = 0; t < at.log_p.size(); ++t) {
    if (std::isinf(at.log_p[t])) continue;
    const int tok = int(t);
    std::vector<int> seq = tokens;
    seq.push_back(tok);
    const double lp = logp + at.log_p[t], pen = penalty + at.temptation;
    if (tok == policy.eos_id() || policy.is_stop_tag(tok) || int(seq.size()) == horizon) {
      out.push_back({seq, lp - lambda * pen});
      continue;
    }
    std::vector<int> next = prefix;
    next.push_back(tok);
    enumerate(m, policy, next, policy.next_state(state, tok), seq, lp, pen, horizon, prune, lambda, out);
  }
}

TEST(TagSearch, WideEnoughBeamIsExhaustiveSearch) {
  constexpr int kVocab = 12;  // tags 4..9, text 0, 1, 3, 10, 11
  const TagVocabulary v = test_vocabulary(kVocab);
  const Policy policy = search_policy(v);
  LlamaModel m = random_model(kVocab, 11, 3.0);
  const std::vector<int> context{1, 10, 11, kAiOpen};
  const int state = policy.state_after_start();
  // Thresholds: off, and one that prunes some branches but not the start.
  const double start_temptation = reference_position(m, policy, state, context).temptation;
  for (const auto& [prune, lambda] : std::vector<std::pair<double, double>>{{1.0, 0.0}, {1.0, 2.0}, {-1, 1.0}}) {
    double threshold = prune;
    if (threshold < 0) {  // the median temptation of the first positions, above the start's
      std::vector<double> t;
      for (int tok : {0, 1, 3, 7, 8, 10, 11}) {
        std::vector<int> p = context;
        p.push_back(tok);
        t.push_back(reference_position(m, policy, policy.next_state(state, tok), p).temptation);
      }
      std::sort(t.begin(), t.end());
      threshold = std::max(t[t.size() / 2], start_temptation + 1e-6);
    }
    std::vector<Scored> all;
    enumerate(m, policy, context, state, {}, 0, 0, 3, threshold, lambda, all);
    std::sort(all.begin(), all.end(), [](const Scored& a, const Scored& b) { return a.score > b.score; });
    ASSERT_GT(all.size(), 50u);
    ASSERT_GT(all[0].score - all[1].score, 1e-3) << "a near tie would make the test fragile";

    GenerateOptions g;
    g.max_new_tokens = 3;
    SearchOptions s;
    s.search = "beam";
    s.beam = 1000;
    s.prune_temptation = threshold;
    s.temptation_penalty = lambda;
    ModelLogits source(m);
    const SearchResult r = beam_search(source, policy, context, state, g, s, text_of);
    EXPECT_EQ(ids_of(r.generation), all[0].tokens) << "prune " << threshold << " lambda " << lambda;
    EXPECT_NEAR(r.stats.score, all[0].score, 1e-4);
    EXPECT_EQ(r.stats.fallbacks, 0);
    if (prune < 0) {
      EXPECT_GT(r.stats.pruned, 0) << "the threshold pruned nothing: not a test of pruning";
    }
    for (const TokenRecord& t : r.generation.tokens) EXPECT_LE(t.temptation_total, threshold + 1e-6);
  }
}

TEST(TagSearch, OneBeamWithoutPruningIsGreedyDecoding) {
  constexpr int kVocab = 64;
  const TagVocabulary v = test_vocabulary(kVocab);
  const Policy policy = search_policy(v);
  std::map<int, float> boost = {{kQuoteOpen, 1.0f}, {kQuoteClose, 1.0f}};
  LlamaModel m = steered_model(kVocab, boost, 64, 5);
  for (const std::vector<int>& context : {std::vector<int>{1, 20, 21, kAiOpen}, std::vector<int>{1, 33, kAiOpen}}) {
    GenerateOptions g;
    g.max_new_tokens = 24;
    g.greedy = true;
    const Generation greedy = decode_context(m, policy, context, policy.state_after_start(), g, text_of);
    SearchOptions s;
    s.beam = 1;
    s.check();
    ModelLogits source(m);
    const SearchResult r = beam_search(source, policy, context, policy.state_after_start(), g, s, text_of);
    EXPECT_EQ(ids_of(r.generation), ids_of(greedy));
    EXPECT_EQ(r.generation.finish_reason, greedy.finish_reason);
    EXPECT_EQ(r.generation.text, greedy.text);
    ASSERT_EQ(r.generation.tokens.size(), greedy.tokens.size());
    for (size_t i = 0; i < greedy.tokens.size(); ++i) {
      EXPECT_EQ(r.generation.tokens[i].state, greedy.tokens[i].state);
      EXPECT_NEAR(r.generation.tokens[i].temptation_total, greedy.tokens[i].temptation_total, 1e-5);
      EXPECT_NEAR(r.generation.tokens[i].p_raw, greedy.tokens[i].p_raw, 1e-5);
    }
    // The forward budget: the context once, then one row per generated token but the last.
    EXPECT_EQ(r.stats.forward_tokens, int64_t(context.size() + greedy.tokens.size() - 1));
  }
}

// Hand-made logits over a 12-token vocabulary under good_only (<|bad|> banned):
// token 10 looks best but leads where <|bad|> has most of the raw mass; token
// 11 leads to a clean end.
std::vector<float> tempting_branch(const std::vector<int>& prefix) {
  std::vector<float> l(12, 0.f);
  l[kBad] = -10.f;
  const std::vector<int> gen(prefix.begin() + 2, prefix.end());  // after BOS, <|good|>
  if (gen.empty()) {
    l[10] = 2.f, l[11] = 1.f;
  } else if (gen == std::vector<int>{10}) {
    l[kBad] = 6.f, l[3] = 5.f;  // raw p(<|bad|>) ~ 0.72; under the policy token 3 has ~0.94
  } else {
    l[2] = 8.f;  // EOS
  }
  return l;
}

TEST(TagSearch, ATemptedBranchIsPrunedWherePlainBeamTakesIt) {
  const TagVocabulary v = test_vocabulary(12);
  const Policy policy = shipped_policy("good_only", v);
  const std::vector<int> context{1, kGood};
  GenerateOptions g;
  g.max_new_tokens = 6;
  auto run = [&](double prune, double lambda) {
    SearchOptions s;
    s.beam = 2;
    s.prune_temptation = prune;
    s.temptation_penalty = lambda;
    s.check();
    PrefixLogits source(12, 64, tempting_branch);
    return beam_search(source, policy, context, policy.state_after_start(), g, s, text_of);
  };
  const SearchResult plain = run(1.0, 0.0), pruned = run(0.3, 0.0), penalised = run(1.0, 2.0);
  EXPECT_EQ(ids_of(plain.generation), (std::vector<int>{10, 3, 2}));
  EXPECT_GT(plain.generation.max_temptation, 0.7f);
  EXPECT_EQ(plain.stats.pruned, 0);
  EXPECT_EQ(ids_of(pruned.generation), (std::vector<int>{11, 2}));
  EXPECT_EQ(pruned.stats.pruned, 1);
  for (const TokenRecord& t : pruned.generation.tokens) EXPECT_LE(t.temptation_total, 0.3f);
  EXPECT_EQ(ids_of(penalised.generation), (std::vector<int>{11, 2}));
  EXPECT_EQ(penalised.stats.pruned, 0);
  EXPECT_EQ(pruned.generation.finish_reason, "eos");

  // Everything tempted from the start: the least tempted branch is kept, and said so.
  PrefixLogits always(12, 64, [](const std::vector<int>& p) {
    std::vector<float> l(12, 0.f);
    l[kBad] = 5.f;
    if (p.size() > 3) l[2] = 8.f;
    return l;
  });
  SearchOptions s;
  s.beam = 2;
  s.prune_temptation = 0.1;
  s.check();
  const SearchResult forced = beam_search(always, policy, context, policy.state_after_start(), g, s, text_of);
  EXPECT_GE(forced.stats.fallbacks, 1);
  EXPECT_FALSE(forced.generation.tokens.empty());
}

TEST(TagSearch, BestOfPicksTheBestRecomputedScoreAmongDecodeBatchSamples) {
  constexpr int kVocab = 64;
  const TagVocabulary v = test_vocabulary(kVocab);
  const Policy policy = search_policy(v);
  std::map<int, float> boost = {{kAiClose, 1.5f}, {kQuoteOpen, 2.0f}, {kQuoteClose, 2.0f}, {kGood, 2.0f}};
  LlamaModel m = steered_model(kVocab, boost, 64, 9);
  const std::vector<int> context{1, 20, 21, 22, kAiOpen};
  const int state = policy.state_after_start();
  GenerateOptions g;
  g.max_new_tokens = 12;
  g.temperature = 0.9;
  g.top_p = 0.95;
  const std::vector<uint64_t> seeds{3, 4, 5, 6, 7, 8};
  SearchOptions s;
  s.search = "best-of";
  s.beam = int(seeds.size());
  s.temptation_penalty = 0.5;
  s.check();
  ModelLogits first_source(m);
  const SearchResult first = best_of(first_source, policy, context, state, g, s, seeds, text_of);

  // The samples are decode_batch's with the same seeds.
  const std::vector<Generation> batch =
      decode_batch(m, policy, std::vector<std::vector<int>>(seeds.size(), context),
                   std::vector<int>(seeds.size(), state), g, seeds, text_of);
  ASSERT_EQ(first.samples.size(), seeds.size());
  for (size_t k = 0; k < seeds.size(); ++k) EXPECT_EQ(ids_of(first.samples[k]), ids_of(batch[k])) << "sample " << k;

  // Each sample's score recomputed from full forwards.
  std::vector<ScoredContinuation> mine;
  for (const Generation& sample : first.samples) {
    ScoredContinuation c;
    std::vector<int> prefix = context;
    int st = state;
    for (const TokenRecord& t : sample.tokens) {
      const RefPosition at = reference_position(m, policy, st, prefix);
      c.logprob += at.log_p[size_t(t.id)];
      c.temptation += at.temptation;
      c.max_temptation = std::max(c.max_temptation, at.temptation);
      c.tokens += 1;
      prefix.push_back(t.id);
      st = policy.next_state(st, t.id);
    }
    mine.push_back(c);
  }
  for (size_t k = 0; k < mine.size(); ++k) {
    EXPECT_NEAR(first.sample_scores[k].logprob, mine[k].logprob, 1e-3) << "sample " << k;
    EXPECT_NEAR(first.sample_scores[k].temptation, mine[k].temptation, 1e-4) << "sample " << k;
  }
  // A threshold in the widest gap between the samples' max temptations disqualifies some of them.
  std::vector<double> maxima;
  for (const auto& c : mine) maxima.push_back(c.max_temptation);
  std::sort(maxima.begin(), maxima.end());
  size_t gap = 0;
  for (size_t i = 1; i + 1 < maxima.size(); ++i)
    if (maxima[i + 1] - maxima[i] > maxima[gap + 1] - maxima[gap]) gap = i;
  ASSERT_GT(maxima[gap + 1] - maxima[gap], 1e-3) << "the samples are equally tempted: no test of disqualification";
  s.prune_temptation = (maxima[gap] + maxima[gap + 1]) / 2;
  int64_t over = 0;
  for (const auto& c : mine) over += c.max_temptation > s.prune_temptation ? 1 : 0;
  ModelLogits source(m);
  const SearchResult r = best_of(source, policy, context, state, g, s, seeds, text_of);
  size_t want = mine.size();
  for (size_t k = 0; k < mine.size(); ++k) {
    if (mine[k].max_temptation > s.prune_temptation) continue;
    const double score = mine[k].logprob - s.temptation_penalty * mine[k].temptation;
    if (want == mine.size() || score > mine[want].logprob - s.temptation_penalty * mine[want].temptation) want = k;
  }
  ASSERT_LT(want, mine.size());
  EXPECT_EQ(size_t(r.stats.chosen), want);
  EXPECT_EQ(ids_of(r.generation), ids_of(first.samples[want]));
  EXPECT_EQ(r.stats.pruned, over);
  EXPECT_EQ(r.stats.fallbacks, 0);
}

TEST(TagSearch, CacheRowsFollowTheBeamsAsAFreshForwardOfEachPrefix) {
  constexpr int kVocab = 40;
  LlamaModel m = random_model(kVocab, 21);
  ModelLogits cached(m);
  PrefixLogits fresh(kVocab, 64, [&m](const std::vector<int>& p) { return full_forward_logits(m, p); });
  const std::vector<int> context{1, 5, 6, 7, 8};
  auto expect_same = [](const RowLogits& a, const RowLogits& b, const std::string& what) {
    ASSERT_EQ(a.rows, b.rows) << what;
    ASSERT_EQ(a.vocab, b.vocab) << what;
    double worst = 0;
    for (size_t i = 0; i < a.data.size(); ++i) worst = std::max(worst, double(std::abs(a.data[i] - b.data[i])));
    EXPECT_LT(worst, 1e-4) << what;
  };
  expect_same(cached.start(context, 3), fresh.start(context, 3), "start");
  // Beams split (a parent repeated), move, and die (a parent skipped); then one survives and splits again.
  const std::vector<std::pair<std::vector<int64_t>, std::vector<int>>> steps = {
      {{0, 0, 2}, {10, 11, 12}}, {{2, 1, 1, 0}, {13, 14, 15, 16}}, {{3, 0}, {17, 18}}, {{1}, {19}},
      {{0, 0, 0, 0, 0}, {20, 21, 22, 23, 24}}, {{4, 2, 0}, {25, 26, 27}}};
  for (size_t i = 0; i < steps.size(); ++i)
    expect_same(cached.extend(steps[i].first, steps[i].second), fresh.extend(steps[i].first, steps[i].second),
                "step " + std::to_string(i));
  EXPECT_EQ(cached.forward_tokens(), int64_t(context.size() + 3 + 4 + 2 + 1 + 5 + 3));
  EXPECT_THROW(cached.extend({3}, {1}), Error);  // only 3 rows now
}

TEST(TagSearch, OptionsNameTheFlag) {
  SearchOptions s;
  s.beam = 4;
  s.check();
  EXPECT_EQ(s.search, "beam");  // --beam alone
  auto message = [](SearchOptions o) {
    try {
      o.check();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  SearchOptions bad;
  bad.search = "best-of";
  EXPECT_NE(message(bad).find("--beam"), std::string::npos);
  bad.search = "nope";
  EXPECT_NE(message(bad).find("--search"), std::string::npos);
  SearchOptions neg;
  neg.beam = 2;
  neg.temptation_penalty = -1;
  EXPECT_NE(message(neg).find("--temptation-penalty"), std::string::npos);
}

}  // namespace
}  // namespace prealign
