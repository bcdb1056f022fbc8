#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "core/error.hpp"
#include "score/labeling.hpp"

using namespace prealign;

static LabelingConfig one_rule(const std::string& threshold, double drop = 0) {
  LabelingConfig c;
  LabelRule r;
  r.category = "pep8";
  r.threshold = ThresholdSpec::parse(threshold, "test");
  c.rules.push_back(r);
  c.drop_fraction = drop;
  return c;
}

TEST(Threshold, ParsesAbsoluteAndPercentile) {
  EXPECT_FALSE(ThresholdSpec::parse("0.002", "t").percentile);
  EXPECT_DOUBLE_EQ(ThresholdSpec::parse("0.002", "t").value, 0.002);
  EXPECT_TRUE(ThresholdSpec::parse("p95", "t").percentile);
  EXPECT_DOUBLE_EQ(ThresholdSpec::parse("95%", "t").value, 95);
  EXPECT_THROW(ThresholdSpec::parse("abc", "t"), Error);
  EXPECT_THROW(ThresholdSpec::parse("p150", "t"), Error);
}

TEST(Labeler, AbsoluteThresholdIsStrictlyGreaterIsBad) {
  Labeler l(one_rule("0"), {"pii", "pep8"}, "t");
  float good[2] = {5.f, 0.f}, bad[2] = {0.f, 0.01f};
  EXPECT_FALSE(l.label(good, 1).bad);  // the other category does not matter
  EXPECT_EQ(l.label(good, 1).tags, std::vector<std::string>{"<|good|>"});
  EXPECT_TRUE(l.label(bad, 1).bad);
  EXPECT_EQ(l.label(bad, 1).tags, std::vector<std::string>{"<|bad|>"});
  EXPECT_FLOAT_EQ(l.label(bad, 1).score, 0.01f);
}

TEST(Labeler, UnknownCategoryIsAnError) {
  EXPECT_THROW(Labeler(one_rule("0"), {"pii"}, "t"), Error);
}

TEST(Labeler, PercentileMatchesSortedReference) {
  std::mt19937 rng(3);
  std::exponential_distribution<float> dist(10.f);
  std::vector<float> scores(10001);
  for (auto& s : scores) s = dist(rng);
  Labeler l(one_rule("p90"), {"pep8"}, "t");
  ASSERT_TRUE(l.needs_fit());
  l.fit([&](const std::function<void(const float*)>& visit) {
    for (const float& s : scores) visit(&s);
  });
  std::vector<float> sorted = scores;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_FLOAT_EQ(static_cast<float>(l.threshold(0)), sorted[9000]);  // exact index: 0.9 * 10000
  size_t bad = 0;
  for (size_t i = 0; i < scores.size(); ++i) bad += l.label(&scores[i], i).bad;
  EXPECT_EQ(bad, 1000u);
}

TEST(Labeler, UnfittedPercentileRefusesToLabel) {
  Labeler l(one_rule("p50"), {"pep8"}, "t");
  float s = 0;
  EXPECT_THROW(l.label(&s, 0), Error);
}

TEST(Labeler, DropFractionIsSeededAndClose) {
  Labeler l(one_rule("0", 0.1), {"pep8"}, "t");
  float s = 0;
  int dropped = 0;
  const int n = 100000;
  for (int i = 0; i < n; ++i) {
    auto lab = l.label(&s, static_cast<uint64_t>(i));
    dropped += lab.dropped;
    if (lab.dropped) {
      EXPECT_TRUE(lab.tags.empty());
    }
    EXPECT_EQ(lab.dropped, l.label(&s, static_cast<uint64_t>(i)).dropped);  // pure function of the key
  }
  EXPECT_NEAR(dropped / double(n), 0.1, 0.005);
}

TEST(Labeler, SeveralCategoriesTagEachBadOne) {
  LabelingConfig c;
  for (std::string cat : {"pii", "pep8"}) {
    LabelRule r;
    r.category = cat;
    r.threshold = ThresholdSpec::parse("0", "t");
    r.bad_tag = "<|" + cat + "|>";
    c.rules.push_back(r);
  }
  Labeler l(c, {"pep8", "pii"}, "t");
  float both[2] = {1, 1}, pep8_only[2] = {1, 0}, none[2] = {0, 0};
  EXPECT_EQ(l.label(both, 0).tags, (std::vector<std::string>{"<|pii|>", "<|pep8|>"}));
  EXPECT_EQ(l.label(pep8_only, 0).tags, (std::vector<std::string>{"<|pep8|>"}));
  EXPECT_EQ(l.label(none, 0).tags, (std::vector<std::string>{"<|good|>"}));
}

TEST(Labeler, ConfigFromJsonRejectsUnknownKeys) {
  json good = {{"rules", {{{"category", "pep8"}, {"threshold", "p95"}}}}, {"drop_fraction", 0.01}};
  LabelingConfig c = LabelingConfig::from_json(good, "label.json");
  EXPECT_TRUE(c.rules[0].threshold.percentile);
  EXPECT_THROW(LabelingConfig::from_json(json{{"rulez", json::array()}}, "label.json"), Error);
}

// Band tags from a numeric metadata field (seed 004), on a corpus with a synthetic
// field: each document's tag is recomputed here from the band edges by hand.
TEST(Labeler, BandTagsFollowANumericFieldAfterTheContextTags) {
  const std::string tagset = std::string(PREALIGN_SOURCE_DIR) + "/configs/tagsets/iq_bands.json";
  const json cfg = {{"rules", {{{"category", "pep8"}, {"threshold", 0}}}},
                    {"context", {{{"field", "genre"}, {"value", "essay"}, {"tag", "<essay>"}}}},
                    {"bands", {{{"field", "iq"}, {"tagset", tagset}, {"category", "iq"}}}}};
  const LabelingConfig c = LabelingConfig::from_json(cfg, "labeling.json");
  ASSERT_EQ(c.bands.size(), 1u);
  EXPECT_EQ(c.to_json()["bands"][0]["category"], "iq");
  Labeler l(c, {"pep8"}, "t");
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> iq(40, 175);  // some values outside [55, 160]
  int tagged = 0, outside = 0;
  for (int d = 0; d < 2000; ++d) {
    const double v = iq(rng);
    const json meta = {{"iq", v}, {"genre", d % 3 == 0 ? "essay" : "news"}};
    std::vector<std::string> want;
    if (d % 3 == 0) want.push_back("<essay>");
    if (v >= 55 && v <= 160) {
      const int k = std::min(6, static_cast<int>((v - 55) / 15));
      want.push_back("<iq_" + std::to_string(55 + 15 * k) + "_" + std::to_string(70 + 15 * k) + ">");
      ++tagged;
    } else {
      ++outside;
    }
    ASSERT_EQ(l.context_tags(meta), want) << "iq " << v;
  }
  EXPECT_GT(tagged, 1000);
  EXPECT_GT(outside, 100);
  // Not a number, or absent: no band tag.
  EXPECT_TRUE(l.context_tags(json{{"iq", "high"}}).empty());
  EXPECT_TRUE(l.context_tags(json{{"iq", nullptr}}).empty());
  EXPECT_TRUE(l.context_tags(json::object()).empty());
  EXPECT_EQ(l.context_tags(json{{"iq", 160}}), std::vector<std::string>{"<iq_145_160>"});
}

// Metadata alone (MeCo, experiments/band_tags.sh): bands and no rule. Segments then get no tag
// and no score; before, labeling a segment read the first rule's score out of an empty list.
TEST(Labeler, BandsWithoutRulesLabelSegmentsWithNoTag) {
  const std::string tagset = std::string(PREALIGN_SOURCE_DIR) + "/configs/tagsets/iq_bands.json";
  const LabelingConfig c = LabelingConfig::from_json(
      json{{"rules", json::array()}, {"bands", {{{"field", "iq"}, {"tagset", tagset}, {"category", "iq"}}}}}, "l.json");
  Labeler l(c, {"pii"}, "t");
  const float scores[] = {0.5f};  // bad under any pii rule; here there is none
  for (uint64_t key = 0; key < 100; ++key) {
    const SegmentLabel s = l.label(scores, key);
    EXPECT_TRUE(s.tags.empty());
    EXPECT_FALSE(s.bad);
    EXPECT_EQ(s.score, 0.f);
  }
  EXPECT_EQ(l.context_tags(json{{"iq", 101}}), std::vector<std::string>{"<iq_100_115>"});
  // Nothing at all to label is still an error, naming the config.
  try {
    Labeler none(LabelingConfig::from_json(json{{"rules", json::array()}}, "empty.json"), {"pii"}, "empty.json");
    FAIL() << "a labeling with no rule, context tag or band was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("empty.json"), std::string::npos) << e.what();
  }
}

TEST(Labeler, BandRulesNameTheirErrors) {
  const std::string tagset = std::string(PREALIGN_SOURCE_DIR) + "/configs/tagsets/iq_bands.json";
  auto message = [](const json& cfg) -> std::string {
    try {
      LabelingConfig::from_json(cfg, "labeling.json");
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  std::string e = message({{"bands", {{{"field", "iq"}, {"tagset", tagset}, {"category", "edu"}}}}});
  EXPECT_NE(e.find("labeling.json: bands[0]"), std::string::npos) << e;
  EXPECT_NE(e.find("no band tags"), std::string::npos) << e;
  e = message({{"bands", {{{"field", "iq"}, {"category", "iq"}}}}});
  EXPECT_NE(e.find("tagset"), std::string::npos) << e;
  e = message({{"bands", {{{"field", "iq"}, {"tagset", "/nonexistent/bands.json"}, {"category", "iq"}}}}});
  EXPECT_NE(e.find("/nonexistent/bands.json"), std::string::npos) << e;
}
