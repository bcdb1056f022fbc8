// prealign label's engine: tag counts, resolved percentiles and the labeled
// output against the Labeler applied by hand, context tags, histograms, specs.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "core/error.hpp"
#include "core/lines.hpp"
#include "core/rng.hpp"
#include "score/label_run.hpp"
#include "score/labeling.hpp"
#include "score_helpers.hpp"
#include "test_util.hpp"

using namespace prealign;
using namespace prealign::testing;

namespace {

struct Corpus {
  std::string path;
  std::vector<std::vector<float>> pii, pep8;  // [doc][segment]
  std::vector<std::string> genre;
};

// Documents of 1-4 one-character segments with random scores (many zeros).
Corpus make_corpus(const std::string& dir, int docs) {
  Corpus c;
  c.path = dir + "/scored.jsonl";
  std::mt19937 rng(5);
  std::string body;
  for (int d = 0; d < docs; ++d) {
    const int S = 1 + static_cast<int>(rng() % 4);
    json segs = json::array();
    std::string text;
    c.pii.emplace_back();
    c.pep8.emplace_back();
    for (int s = 0; s < S; ++s) {
      const float pii = rng() % 3 == 0 ? float(rng() % 1000) / 1e4f : 0.f;
      const float pep8 = float(rng() % 1000) / 1e3f;
      segs.push_back({{"start", s}, {"end", s + 1}, {"scores", {{"pii", pii}, {"pep8", pep8}}}});
      text += "x";
      c.pii.back().push_back(pii);
      c.pep8.back().push_back(pep8);
    }
    c.genre.push_back(d % 3 == 0 ? "fiction" : "news");
    body += json({{"id", d}, {"text", text}, {"segments", segs}, {"genre", c.genre.back()}}).dump() + "\n";
  }
  write_text(c.path, body);
  return c;
}

LabelingConfig two_rules(double drop = 0.0) {
  LabelingConfig c;
  c.rules.push_back(parse_rule_spec("pii:0"));
  c.rules.push_back(parse_rule_spec("pep8:p90:<|tidy|>:<|messy|>"));
  c.context.push_back(parse_context_spec("genre=fiction:<fiction>"));
  c.drop_fraction = drop;
  c.seed = 3;
  return c;
}

}  // namespace

TEST(LabelRun, CountsAndOutputMatchTheLabelerAppliedByHand) {
  const std::string dir = temp_dir();
  Corpus c = make_corpus(dir, 300);
  LabelRunOptions o;
  o.out = dir + "/labeled.jsonl";
  LabelReport r = run_label({c.path}, two_rules(0.1), o);

  // the reference: resolve the percentile ourselves, then label every segment
  std::vector<float> pep8_all;
  for (const auto& d : c.pep8) pep8_all.insert(pep8_all.end(), d.begin(), d.end());
  std::vector<float> sorted = pep8_all;
  const double p90 = quantile(sorted, 0.9);
  EXPECT_DOUBLE_EQ(r.labeling["rules"][1]["resolved_threshold"].get<double>(), p90);
  // The rules written out here rather than through Labeler: bad when any rule's
  // score is over its threshold (pii > 0, pep8 > p90); a bad segment carries the
  // bad tags of the rules that fired, a good one every rule's good tag; a dropped
  // segment (the seeded hash of its key under 0.1) carries none.
  struct HandLabel {
    bool bad = false, dropped = false;
    std::vector<std::string> tags;
  };
  const auto by_hand = [&](float pep8, float pii, uint64_t key) {
    HandLabel l;
    const bool pii_bad = pii > 0.0f, pep8_bad = double(pep8) > p90;
    l.bad = pii_bad || pep8_bad;
    l.dropped = hash_unit(3, key) < 0.1;
    if (l.dropped) return l;
    if (!l.bad) l.tags = {"<|good|>", "<|tidy|>"};
    if (pii_bad) l.tags.push_back("<|bad|>");
    if (pep8_bad) l.tags.push_back("<|messy|>");
    return l;
  };

  std::map<std::string, uint64_t> tags;
  uint64_t key = 0, bad = 0, dropped = 0, fiction = 0;
  LineReader in(o.out);
  std::string line;
  for (size_t d = 0; d < c.pii.size(); ++d) {
    ASSERT_TRUE(in.next(line));
    json rec = json::parse(line);
    fiction += c.genre[d] == "fiction";
    EXPECT_EQ(rec["context_tags"], c.genre[d] == "fiction" ? json::array({"<fiction>"}) : json::array());
    for (size_t s = 0; s < c.pii[d].size(); ++s, ++key) {
      const HandLabel l = by_hand(c.pep8[d][s], c.pii[d][s], key);
      bad += l.bad;
      dropped += l.dropped;
      for (const auto& t : l.tags) ++tags[t];
      EXPECT_EQ(rec["segments"][s]["tags"], json(l.tags));
      EXPECT_EQ(rec["segments"][s]["bad"], l.bad);
    }
  }
  EXPECT_FALSE(in.next(line));
  EXPECT_EQ(r.segments, key);
  EXPECT_EQ(r.bad_segments, bad);
  EXPECT_EQ(r.dropped_segments, dropped);
  EXPECT_NEAR(double(dropped) / double(key), 0.1, 0.04);
  EXPECT_EQ(r.tag_segments, tags);
  EXPECT_GT(tags["<|bad|>"], 0u);
  EXPECT_GT(tags["<|messy|>"], 0u);
  EXPECT_EQ(r.context_documents["<fiction>"], fiction);

  // histogram of pii: zeros and decades add up, max is the max
  const ScoreHistogram& h = r.histograms[0];
  uint64_t total = h.zeros;
  for (const auto& [e, n] : h.decades) total += n;
  EXPECT_EQ(total, r.segments);
  uint64_t zeros = 0;
  float max = 0;
  for (const auto& d : c.pii)
    for (float x : d) zeros += x == 0, max = std::max(max, x);
  EXPECT_EQ(h.zeros, zeros);
  EXPECT_FLOAT_EQ(float(h.max), max);
  EXPECT_NE(format_label_report(r).find("<fiction>"), std::string::npos);
}

TEST(LabelRun, MixedCategoriesAndUnscoredDocumentsAreBadInput) {
  const std::string dir = temp_dir();
  write_text(dir + "/m.jsonl", R"({"text": "a", "segments": [{"start": 0, "end": 1, "scores": {"pii": 0.5}}]})"
                               "\n"
                               R"({"text": "b", "segments": [{"start": 0, "end": 1, "scores": {"pep8": 0.5}}]})"
                               "\n"
                               R"({"text": "c"})"
                               "\n");
  LabelingConfig c;
  c.rules.push_back(parse_rule_spec("pii:0"));
  LabelRunOptions o;
  try {
    run_label({dir + "/m.jsonl"}, c, o);
    ADD_FAILURE() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("m.jsonl:2"), std::string::npos) << e.what();
  }
  o.skip_bad = true;
  LabelReport r = run_label({dir + "/m.jsonl"}, c, o);
  EXPECT_EQ(r.documents, 1u);
  EXPECT_EQ(r.skipped, 2u);
  EXPECT_EQ(r.bad_segments, 1u);
  c.rules[0] = parse_rule_spec("toxicity:0");
  EXPECT_THROW(run_label({dir + "/m.jsonl"}, c, o), Error);  // not a category of the corpus
}

TEST(LabelRun, SpecsParseOrFailWithAHint) {
  LabelRule r = parse_rule_spec("pep8:p95");
  EXPECT_EQ(r.category, "pep8");
  EXPECT_TRUE(r.threshold.percentile);
  EXPECT_EQ(r.good_tag, "<|good|>");
  r = parse_rule_spec("pii:0.01:<|ok|>:<|pii|>");
  EXPECT_DOUBLE_EQ(r.threshold.value, 0.01);
  EXPECT_EQ(r.bad_tag, "<|pii|>");
  EXPECT_THROW(parse_rule_spec("pii"), Error);
  EXPECT_THROW(parse_rule_spec("pii:x"), Error);
  EXPECT_THROW(parse_rule_spec("pii:0:<|ok|>"), Error);
  ContextRule c = parse_context_spec("source=court:<high_stakes>");
  EXPECT_EQ(c.field, "source");
  EXPECT_EQ(c.value, "court");
  EXPECT_EQ(c.tag, "<high_stakes>");
  EXPECT_THROW(parse_context_spec("source:<x>"), Error);
  EXPECT_THROW(parse_context_spec("=a:<x>"), Error);
}

TEST(Labeler, ContextTagsFromMetadataStringsArraysAndNumbers) {
  LabelingConfig c = LabelingConfig::from_json(json::parse(R"({"rules": [{"category": "pii"}], "context": [
        {"field": "genre", "value": "fiction", "tag": "<fiction>"},
        {"field": "tags", "value": "legal", "tag": "<high_stakes>"},
        {"field": "tier", "value": "1", "tag": "<high_stakes>"}]})"),
                                               "t");
  Labeler l(c, {"pii"}, "t");
  EXPECT_EQ(l.context_tags(json::parse(R"({"genre": "fiction"})")), std::vector<std::string>{"<fiction>"});
  EXPECT_EQ(l.context_tags(json::parse(R"({"genre": "news", "tags": ["x", "legal"], "tier": 1})")),
            std::vector<std::string>{"<high_stakes>"});  // once, though two rules give it
  EXPECT_TRUE(l.context_tags(json::object()).empty());
  EXPECT_THROW(LabelingConfig::from_json(json::parse(R"({"rules": [], "context": [{"field": "g"}]})"), "t"), Error);
  // round trip through to_json
  LabelingConfig back = LabelingConfig::from_json(json::parse(c.to_json().dump()), "t");
  ASSERT_EQ(back.context.size(), 3u);
  EXPECT_EQ(back.context[1].tag, "<high_stakes>");
}
