// Temptation against a plain double-precision softmax, on ordinary and
// extreme logits, and the temptation rules at their thresholds.
#include <cmath>
#include <limits>

#include "core/rng.hpp"
#include "decode/temptation.hpp"
#include "decode_fixture.hpp"

namespace prealign {
namespace {

using namespace prealign::testing;

constexpr float kInf = std::numeric_limits<float>::infinity();

void expect_matches_reference(const std::vector<float>& logits, const std::vector<int>& banned) {
  const Temptation t = measure_temptation(logits.data(), static_cast<int>(logits.size()), banned);
  const std::vector<double> p = reference_softmax(logits);
  ASSERT_EQ(t.per_tag.size(), banned.size());
  double total = 0.0;
  for (size_t i = 0; i < banned.size(); ++i) {
    EXPECT_EQ(t.per_tag[i].first, banned[i]);
    EXPECT_NEAR(t.per_tag[i].second, p[static_cast<size_t>(banned[i])], 1e-6) << "tag " << banned[i];
    total += p[static_cast<size_t>(banned[i])];
  }
  EXPECT_NEAR(t.total, total, 1e-6);
  // log_sum_exp: exp(l - lse) is the raw probability of any token
  for (size_t i = 0; i < logits.size(); i += 97)
    EXPECT_NEAR(std::exp(static_cast<double>(logits[i]) - t.log_sum_exp), p[i], 1e-6) << i;
}

TEST(Temptation, MatchesDoubleSoftmaxOnRandomLogits) {
  Rng rng(11);
  std::normal_distribution<float> normal(0.f, 4.f);
  // sizes that do and do not fill the 8-wide blocks, and more than 32 blocks
  for (int vocab : {10, 64, 257, 4096, 5003, 32000}) {
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<float> logits(static_cast<size_t>(vocab));
      for (float& l : logits) l = normal(rng);
      std::vector<int> banned;
      for (int k = 0; k < 6; ++k) banned.push_back(static_cast<int>(rng() % static_cast<uint64_t>(vocab)));
      // sometimes a banned tag is by far the most likely token
      if (trial % 3 == 0) logits[static_cast<size_t>(banned[0])] = 30.f;
      expect_matches_reference(logits, banned);
    }
  }
}

TEST(Temptation, ExtremeLogits) {
  const int vocab = 1000;
  std::vector<float> logits(vocab, -1e4f);
  logits[5] = 1e4f;  // the banned tag holds all the mass
  expect_matches_reference(logits, {5, 6});
  EXPECT_NEAR(measure_temptation(logits.data(), vocab, {5}).total, 1.0, 1e-6);

  for (size_t i = 0; i < logits.size(); ++i) logits[i] = (i % 2) ? 1e4f : -1e4f;
  logits[3] = -kInf;  // banned tag already masked out by the model
  logits[7] = 1e4f;
  expect_matches_reference(logits, {3, 7, 8});

  std::fill(logits.begin(), logits.end(), -kInf);
  logits[900] = 0.f;
  logits[4] = -3.f;
  expect_matches_reference(logits, {4, 5});
  logits[900] = 1e4f;  // the tag falls below float range relative to the max
  const Temptation t = measure_temptation(logits.data(), vocab, {4});
  EXPECT_EQ(t.per_tag[0].second, 0.f);
  EXPECT_NEAR(t.log_sum_exp, 1e4, 1e-3);

  std::vector<float> same(777, 3.f);  // uniform
  expect_matches_reference(same, {0, 776});
}

TEST(Temptation, UndefinedDistributions) {
  std::vector<float> logits(100, -kInf);
  Temptation t = measure_temptation(logits.data(), 100, {1, 2});
  EXPECT_EQ(t.log_sum_exp, -std::numeric_limits<double>::infinity());
  EXPECT_EQ(t.total, 0.f);
  logits[50] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(std::isnan(measure_temptation(logits.data(), 100, {1}).log_sum_exp));
  std::fill(logits.begin(), logits.end(), 0.f);
  logits[99] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(std::isnan(measure_temptation(logits.data(), 100, {1}).log_sum_exp));
  logits[99] = kInf;
  EXPECT_TRUE(std::isnan(measure_temptation(logits.data(), 100, {1}).log_sum_exp));
  EXPECT_TRUE(measure_temptation(logits.data(), 100, {}).per_tag.empty());
}

// A policy with rules on one tag, a tag pair and the total, all flag or stop.
Policy rules_policy(double tag_threshold, double pair_threshold, double total_threshold) {
  json j = read_json_file(source_path("configs/policies/ai_mode.json"));
  j["temptation"] = json::array({
      {{"tag", "</AI>"}, {"threshold", tag_threshold}, {"action", "flag"}},
      {{"tag", {"<|good|>", "<|bad|>"}}, {"threshold", pair_threshold}, {"action", "stop"}},
      {{"tag", "total"}, {"threshold", total_threshold}, {"action", "stop"}},
  });
  return Policy::from_json(j, test_vocabulary(), "rules.json");
}

Temptation make_temptation(std::vector<std::pair<int, float>> per_tag) {
  Temptation t;
  t.per_tag = std::move(per_tag);
  for (const auto& [id, p] : t.per_tag) t.total += p;
  return t;
}

TEST(TemptationRules, FireExactlyWhenTheThresholdIsCrossed) {
  const Policy p = rules_policy(0.3, 0.2, 0.8);
  const float eps = 1e-6f;
  // just below every threshold: nothing fires
  FiredRules f =
      check_temptation_rules(p, make_temptation({{kAiClose, 0.3f - eps}, {kGood, 0.1f}, {kBad, 0.1f - eps}}));
  EXPECT_TRUE(f.flags.empty());
  EXPECT_TRUE(f.stops.empty());
  // the single tag crosses
  f = check_temptation_rules(p, make_temptation({{kAiClose, 0.3f + eps}}));
  EXPECT_EQ(f.flags, std::vector<std::string>{"</AI>"});
  EXPECT_TRUE(f.stops.empty());
  // the pair crosses only in sum
  f = check_temptation_rules(p, make_temptation({{kGood, 0.1f}, {kBad, 0.1f + eps}}));
  EXPECT_TRUE(f.flags.empty());
  EXPECT_EQ(f.stops, std::vector<std::string>{"<|good|>+<|bad|>"});
  // the total crosses without any single rule tag being high
  f = check_temptation_rules(p, make_temptation({{kQuoteOpen, 0.5f}, {kAiOpen, 0.3f + eps}}));
  EXPECT_TRUE(f.flags.empty());
  EXPECT_EQ(f.stops, std::vector<std::string>{"total"});
  // a tag that is not banned here is not measured, so its rule cannot fire
  f = check_temptation_rules(p, make_temptation({{kQuoteOpen, 0.01f}}));
  EXPECT_TRUE(f.flags.empty() && f.stops.empty());
}

TEST(TemptationRules, EdgesZeroAndOne) {
  const Policy zero = rules_policy(0.0, 0.0, 0.0);
  FiredRules f = check_temptation_rules(zero, make_temptation({{kAiClose, 1e-30f}}));
  EXPECT_EQ(f.flags.size(), 1u);
  EXPECT_EQ(f.stops, std::vector<std::string>{"total"});
  f = check_temptation_rules(zero, make_temptation({{kAiClose, 0.f}}));
  EXPECT_TRUE(f.flags.empty() && f.stops.empty());
  const Policy one = rules_policy(1.0, 1.0, 1.0);  // a threshold of 1 never fires
  f = check_temptation_rules(one, make_temptation({{kAiClose, 1.f}}));
  EXPECT_TRUE(f.flags.empty() && f.stops.empty());
}

TEST(TemptationRules, FromMeasuredLogits) {
  // p(</AI>) = e^a / (e^a + (V-1)) crosses 0.5 where a = log(V-1).
  const Policy p = rules_policy(0.5, 1.0, 1.0);
  const int vocab = 64;
  for (float delta : {-1e-3f, 1e-3f}) {
    std::vector<float> logits(vocab, 0.f);
    logits[kAiClose] = std::log(static_cast<float>(vocab - 1)) + delta;
    const Temptation t = measure_temptation(logits.data(), vocab, {kAiClose, kGood});
    EXPECT_EQ(check_temptation_rules(p, t).flags.size(), delta > 0 ? 1u : 0u) << t.per_tag[0].second;
  }
}

}  // namespace
}  // namespace prealign
