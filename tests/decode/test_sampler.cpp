// Sampler stages against reference computations, and random walks through the
// shipped policies: a banned tag is never chosen whatever the logits and the
// chain, and every ai_mode walk is a sentence of the seed-000 grammar.
#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "corpus/lint.hpp"
#include "decode/generator.hpp"
#include "decode/sampler.hpp"
#include "decode_fixture.hpp"

namespace prealign {
namespace {

using namespace prealign::testing;

std::vector<float> random_logits(Rng& rng, int vocab, float scale = 3.f) {
  std::normal_distribution<float> normal(0.f, scale);
  std::vector<float> l(static_cast<size_t>(vocab));
  for (float& x : l) x = normal(rng);
  return l;
}

// Runs one stage over fresh candidates.
Candidates run_stage(SamplerStage& stage, const std::vector<float>& logits) {
  Candidates c;
  c.reset(logits.data(), static_cast<int>(logits.size()));
  Rng rng(0);
  stage.apply(c, rng);
  return c;
}

std::set<int> ids_of(const Candidates& c) {
  std::set<int> s;
  for (const auto& x : c.items) s.insert(x.id);
  return s;
}

// Reference: ids sorted by logit, descending (ties by id).
std::vector<int> ranked(const std::vector<float>& logits) {
  std::vector<int> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  std::stable_sort(ids.begin(), ids.end(), [&](int a, int b) { return logits[a] > logits[b]; });
  return ids;
}

TEST(Sampler, TopKKeepsExactlyTheKLargest) {
  Rng rng(1);
  for (int k : {1, 2, 7, 63, 64, 100}) {
    const std::vector<float> logits = random_logits(rng, 64);
    auto stage = make_top_k(k);
    const Candidates c = run_stage(*stage, logits);
    const size_t kept = std::min<size_t>(static_cast<size_t>(k), 64);
    ASSERT_EQ(c.items.size(), kept);
    const std::vector<int> r = ranked(logits);
    EXPECT_EQ(ids_of(c), std::set<int>(r.begin(), r.begin() + static_cast<std::ptrdiff_t>(kept)));
  }
  auto off = make_top_k(0);
  EXPECT_EQ(run_stage(*off, random_logits(rng, 64)).items.size(), 64u);
}

TEST(Sampler, TopPKeepsTheMinimalSet) {
  Rng rng(2);
  int checked = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const int vocab = trial % 2 ? 50 : 1000;  // 1000: beyond the first 64-candidate prefix
    const std::vector<float> logits = random_logits(rng, vocab, trial % 3 ? 2.f : 0.3f);
    const float top_p = 0.05f + 0.9f * static_cast<float>(rng() % 1000) / 1000.f;
    const std::vector<double> p = reference_softmax(logits);
    const std::vector<int> r = ranked(logits);
    size_t n = 0;
    double cum = 0.0;
    while (cum < top_p) cum += p[static_cast<size_t>(r[n++])];
    // skip draws where float rounding could legitimately pick a neighbour
    if (cum - top_p < 1e-5 || top_p - (cum - p[static_cast<size_t>(r[n - 1])]) < 1e-5) continue;
    auto stage = make_top_p(top_p);
    const Candidates c = run_stage(*stage, logits);
    ASSERT_EQ(c.items.size(), n) << "p=" << top_p;
    EXPECT_EQ(ids_of(c), std::set<int>(r.begin(), r.begin() + static_cast<std::ptrdiff_t>(n)));
    ++checked;
  }
  EXPECT_GT(checked, 250);
  EXPECT_THROW(make_top_p(0.f), Error);
  EXPECT_THROW(make_top_p(1.5f), Error);
}

TEST(Sampler, TemperatureScalesLogits) {
  Rng rng(3);
  std::vector<float> logits = random_logits(rng, 32);
  logits[4] = -std::numeric_limits<float>::infinity();
  for (float t : {0.25f, 1.f, 2.f}) {
    auto stage = make_temperature(t);
    const Candidates c = run_stage(*stage, logits);
    for (const auto& x : c.items) {
      if (x.id == 4) {
        EXPECT_EQ(x.logit, -std::numeric_limits<float>::infinity());
      } else {
        EXPECT_NEAR(x.logit, logits[static_cast<size_t>(x.id)] / t, 1e-5);
      }
    }
  }
  EXPECT_THROW(make_temperature(0.f), Error);
  // a temperature so small that logits overflow is an Error, not NaN probabilities
  SamplerChain chain;
  chain.add(make_temperature(1e-38f));
  chain.add(make_distribution());
  Rng rng2(0);
  EXPECT_THROW(chain.sample(logits.data(), 32, rng2), Error);
  EXPECT_THROW(make_temperature(-1.f), Error);
}

TEST(Sampler, GreedyTakesTheArgmaxWithItsProbability) {
  Rng rng(4);
  for (int trial = 0; trial < 50; ++trial) {
    const std::vector<float> logits = random_logits(rng, 40);
    SamplerChain chain;
    chain.add(make_greedy());
    float p = 0;
    const int tok = chain.sample(logits.data(), 40, rng, &p);
    EXPECT_EQ(tok, ranked(logits)[0]);
    EXPECT_NEAR(p, reference_softmax(logits)[static_cast<size_t>(tok)], 1e-6);
  }
}

TEST(Sampler, DistributionMatchesSoftmax) {
  const std::vector<float> logits = {1.0f, 0.5f, -0.3f, 2.0f, -1.0f, 0.0f, 1.5f, -2.5f};
  const std::vector<double> p = reference_softmax(logits);
  SamplerChain chain;
  chain.add(make_distribution());
  Rng rng(5);
  const int draws = 100000;
  std::vector<int> counts(logits.size(), 0);
  for (int i = 0; i < draws; ++i) {
    float chosen_p = 0;
    const int tok = chain.sample(logits.data(), 8, rng, &chosen_p);
    ++counts[static_cast<size_t>(tok)];
    ASSERT_NEAR(chosen_p, p[static_cast<size_t>(tok)], 1e-6);
  }
  double chi2 = 0.0;
  for (size_t i = 0; i < p.size(); ++i) {
    const double expected = draws * p[i];
    chi2 += (counts[i] - expected) * (counts[i] - expected) / expected;
  }
  EXPECT_LT(chi2, 26.1);  // 7 degrees of freedom: P(chi2 > 26.1) ~ 5e-4
}

TEST(Sampler, TruncatedDistributionRenormalizes) {
  // top-k 3 at temperature 0.5: the three largest with softmax(l / 0.5) among them
  const std::vector<float> logits = {0.1f, 2.0f, -1.0f, 1.5f, 1.9f, 0.0f};
  SamplerChain chain;
  chain.add(make_temperature(0.5f));
  chain.add(make_top_k(3));
  chain.add(make_distribution());
  const std::vector<double> ref = reference_softmax({2.0f / 0.5f, 1.5f / 0.5f, 1.9f / 0.5f});
  const std::map<int, double> expect = {{1, ref[0]}, {3, ref[1]}, {4, ref[2]}};
  Rng rng(6);
  for (int i = 0; i < 200; ++i) {
    float p = 0;
    const int tok = chain.sample(logits.data(), 6, rng, &p);
    ASSERT_TRUE(expect.count(tok)) << tok;
    EXPECT_NEAR(p, expect.at(tok), 1e-6);
  }
}

TEST(Sampler, SeededDeterminism) {
  const TagVocabulary v = test_vocabulary();
  const Policy policy = shipped_policy("good_only", v);
  auto run = [&](uint64_t seed) {
    GenerateOptions o;
    o.temperature = 0.9;
    o.top_p = 0.95;
    SamplerChain chain = make_sampler_chain(policy, o);
    Rng logit_rng(77), rng(seed);
    std::vector<int> out;
    for (int i = 0; i < 200; ++i) {
      const std::vector<float> logits = random_logits(logit_rng, v.vocab_size);
      out.push_back(chain.sample(logits.data(), v.vocab_size, rng));
      chain.accept(out.back());
    }
    return out;
  };
  EXPECT_EQ(run(42), run(42));
  EXPECT_NE(run(42), run(43));
}

TEST(Sampler, EverythingBannedIsAnError) {
  TagVocabulary v;  // a vocabulary of nothing but two tags and EOS
  v.vocab_size = 3;
  v.eos_id = 2;
  v.tags = {{"<a>", 0}, {"<b>", 1}};
  const json j = {{"initial_state", "s"}, {"states", {{"s", {{"allow", json::object()}, {"end", false}}}}}};
  const Policy policy = Policy::from_json(j, v, "policy.json");
  for (bool greedy : {false, true}) {
    GenerateOptions o;
    o.greedy = greedy;
    SamplerChain chain = make_sampler_chain(policy, o);
    const std::vector<float> logits = {1.f, 2.f, 3.f};
    Rng rng(0);
    try {
      chain.sample(logits.data(), 3, rng);
      FAIL();
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("every candidate token is banned"), std::string::npos);
    }
  }
}

// ---- random walks through the shipped policies ------------------------------

// The seed-000 grammar as `prealign lint` checks it (corpus/lint.hpp, read from
// the policy JSON by tag name, not through Policy): the walk must start with the
// forced <AI>, only allowed transitions, nothing after the stop tag </AI>, and a
// finished walk must be balanced; EOS where the grammar forbids ending and the
// PHF tags (illegal in every ai_mode state) are violations too.
::testing::AssertionResult valid_ai_mode_walk(const std::vector<int>& walk, int eos, bool finished) {
  static const ModeGrammar grammar = ModeGrammar::load(source_path("configs/policies/ai_mode.json"));
  static const std::map<int, std::string> names = {{kGood, "<|good|>"},     {kBad, "<|bad|>"},
                                                   {kAiOpen, "<AI>"},       {kAiClose, "</AI>"},
                                                   {kQuoteOpen, "<AI_quoting_human>"}, {kQuoteClose, "</AI_quoting_human>"}};
  std::vector<MarkupPiece> pieces;
  bool ended = false;
  for (size_t i = 0; i < walk.size(); ++i) {
    if (ended) return ::testing::AssertionFailure() << "token after EOS at position " << i;
    if (walk[i] == eos) {
      ended = true;  // EOS: the document ends here, so the grammar's end rule applies
      continue;
    }
    auto n = names.find(walk[i]);
    pieces.push_back(n == names.end() ? MarkupPiece{false, "t" + std::to_string(walk[i]), i}
                                      : MarkupPiece{true, n->second, i});
  }
  LintOptions o;
  o.generation = true;
  o.require_end = finished;
  o.near_misses = false;
  std::vector<LintViolation> v;
  ModeStats stats;
  lint_pieces(grammar, pieces, "walk", o, v, stats);
  if (v.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << v[0].kind << " at position " << v[0].offset << ": " << v[0].message;
}

// Tags each state of a shipped policy allows, written down from the JSON by hand.
const std::map<std::string, std::set<int>>& allowed_by_hand(const std::string& policy) {
  static const std::map<std::string, std::map<std::string, std::set<int>>> table = {
      {"ai_mode", {{"human", {kAiOpen}}, {"ai", {kQuoteOpen, kAiClose}}, {"quoted", {kQuoteClose}}}},
      {"good_only", {{"good", {kGood}}}}};
  return table.at(policy);
}

// Logits that push hard towards tags: sometimes one random tag, sometimes every
// tag, sometimes EOS, dominates by a wide margin.
std::vector<float> tempting_logits(Rng& rng, int vocab, int eos) {
  std::vector<float> l = random_logits(rng, vocab, 2.f);
  switch (rng() % 4) {
    case 0:
      l[static_cast<size_t>(kGood + rng() % 6)] = 40.f;
      break;
    case 1:
      for (int t = kGood; t <= kQuoteClose; ++t) l[static_cast<size_t>(t)] = 25.f + (rng() % 10);
      break;
    case 2:
      l[static_cast<size_t>(eos)] = 30.f;
      break;
    default:
      break;
  }
  return l;
}

struct WalkStats {
  int walks = 0, finished = 0, tags_chosen = 0;
};

void random_walks(const std::string& name, const GenerateOptions& o, uint64_t seed, WalkStats& stats) {
  const TagVocabulary v = test_vocabulary(48);
  const Policy policy = shipped_policy(name, v);
  PolicyStage* stage = nullptr;
  SamplerChain chain = make_sampler_chain(policy, o, &stage);
  Rng rng(seed), logit_rng(seed + 1);
  for (int w = 0; w < 12; ++w) {
    chain.reset();
    std::vector<int> walk(policy.start_tags());
    for (int t : walk) chain.accept(t);
    bool finished = false;
    for (int step = 0; step < 40 && !finished; ++step) {
      const std::string state = policy.state(stage->state()).name;
      const std::vector<float> logits = tempting_logits(logit_rng, v.vocab_size, v.eos_id);
      const int tok = chain.sample(logits.data(), v.vocab_size, rng);
      if (v.is_tag(tok)) {
        ASSERT_TRUE(allowed_by_hand(name).at(state).count(tok)) << name << ": tag " << tok << " in state " << state;
        ++stats.tags_chosen;
      }
      if (tok == v.eos_id) {
        ASSERT_NE(state, "ai") << "EOS in a state with end: false";
        ASSERT_NE(state, "quoted") << "EOS in a state with end: false";
      }
      walk.push_back(tok);
      chain.accept(tok);
      finished = tok == v.eos_id || policy.is_stop_tag(tok);
    }
    if (name == "ai_mode") {
      ASSERT_TRUE(valid_ai_mode_walk(walk, v.eos_id, finished));
    } else {
      ASSERT_EQ(std::count(walk.begin(), walk.end(), kBad), 0);
    }
    ++stats.walks;
    stats.finished += finished;
  }
}

TEST(PolicyWalks, BannedTagsAreNeverChosenWithAnyChain) {
  for (const std::string name : {"ai_mode", "good_only"}) {
    WalkStats stats;
    uint64_t seed = 100;
    for (double temperature : {0.5, 1.0, 2.0})
      for (int top_k : {0, 1, 3})
        for (double top_p : {1.0, 0.9, 0.3})
          for (bool greedy : {false, true}) {
            GenerateOptions o;
            o.temperature = temperature;
            o.top_k = top_k;
            o.top_p = top_p;
            o.greedy = greedy;
            random_walks(name, o, ++seed, stats);
            if (HasFatalFailure()) return;
          }
    // the walks did exercise the state machine
    EXPECT_GT(stats.tags_chosen, 500) << name;
    EXPECT_GT(stats.finished, 50) << name;
  }
}

TEST(PolicyWalks, GrammarValidatorRejectsBadWalks) {
  // the validator itself must be able to fail
  const int eos = 2;
  EXPECT_TRUE(valid_ai_mode_walk({kAiOpen, 20, kQuoteOpen, 21, kQuoteClose, kAiClose}, eos, true));
  EXPECT_TRUE(valid_ai_mode_walk({kAiOpen, 20, kQuoteOpen, 21}, eos, false));
  EXPECT_FALSE(valid_ai_mode_walk({kAiOpen, 20, kQuoteOpen, 21}, eos, true));
  EXPECT_FALSE(valid_ai_mode_walk({kAiOpen, kQuoteOpen, kAiClose}, eos, true));
  EXPECT_FALSE(valid_ai_mode_walk({kAiOpen, kAiClose, 20}, eos, false));
  EXPECT_FALSE(valid_ai_mode_walk({kAiOpen, kAiOpen}, eos, false));
  EXPECT_FALSE(valid_ai_mode_walk({kAiOpen, eos}, eos, true));
  EXPECT_FALSE(valid_ai_mode_walk({kAiOpen, kQuoteClose}, eos, false));
  EXPECT_FALSE(valid_ai_mode_walk({kAiOpen, kBad}, eos, false));
  EXPECT_FALSE(valid_ai_mode_walk({20, kAiOpen}, eos, false));
}

TEST(PolicyWalks, PolicyStageWorksAfterReorderingStages) {
  // top-k before the policy: candidates are no longer in id order
  const TagVocabulary v = test_vocabulary();
  const Policy policy = shipped_policy("ai_mode", v);
  auto stage = std::make_unique<PolicyStage>(policy);
  PolicyStage* ps = stage.get();
  SamplerChain chain;
  chain.add(make_top_k(5));
  chain.add(std::move(stage));
  chain.add(make_greedy());
  ps->set_state(policy.state_index("quoted"));
  std::vector<float> logits(static_cast<size_t>(v.vocab_size), 0.f);
  logits[kAiClose] = 10.f;                      // banned in "quoted"
  logits[kAiOpen] = 9.f;                        // banned
  logits[static_cast<size_t>(v.eos_id)] = 8.f;  // banned (end: false)
  logits[30] = 7.f;
  logits[kQuoteClose] = 6.f;
  Rng rng(0);
  EXPECT_EQ(chain.sample(logits.data(), v.vocab_size, rng), 30);
}

TEST(PolicyWalks, BiasShiftsAllowedTags) {
  const TagVocabulary v = test_vocabulary();
  json j = read_json_file(source_path("configs/policies/ai_mode.json"));
  j["bias"] = {{"<AI_quoting_human>", 5.0}, {"<|bad|>", 100.0}};  // a bias cannot lift a ban
  const Policy policy = Policy::from_json(j, v, "policy.json");
  GenerateOptions o;
  o.greedy = true;
  PolicyStage* ps = nullptr;
  SamplerChain chain = make_sampler_chain(policy, o, &ps);
  ps->set_state(policy.state_index("ai"));
  std::vector<float> logits(static_cast<size_t>(v.vocab_size), 0.f);
  logits[20] = 4.f;
  Rng rng(0);
  float p = 0;
  EXPECT_EQ(chain.sample(logits.data(), v.vocab_size, rng, &p), kQuoteOpen);  // 0 + 5 > 4
}

}  // namespace
}  // namespace prealign
