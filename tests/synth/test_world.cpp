// The procedural world: every document passes lint, generation is a pure
// function of (seed, index), ground-truth spans are where they say, harmful
// lexemes never appear in AI or quoted text, and the corpus is varied.
#include <gtest/gtest.h>

#include <set>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/lines.hpp"
#include "corpus/document.hpp"
#include "corpus/lint.hpp"
#include "synth/world.hpp"
#include "test_util.hpp"

namespace prealign {
namespace {

using testing::source_path;

const ModeGrammar& grammar() {
  static const ModeGrammar g = ModeGrammar::load(source_path("configs/policies/ai_mode.json"));
  return g;
}
const Tagset& tags() {
  static const Tagset t = Tagset::load(source_path("configs/tagsets/ai_modes.json"));
  return t;
}

std::vector<WorldDocument> corpus(uint64_t seed, uint64_t n) {
  WorldOptions o;
  o.seed = seed;
  o.documents = n;
  std::vector<WorldDocument> docs;
  for (uint64_t i = 0; i < n; ++i) docs.push_back(world_document(o, i));
  return docs;
}

TEST(World, EveryDocumentPassesLint) {
  std::vector<LintViolation> v;
  ModeStats stats;
  for (const WorldDocument& d : corpus(7, 2000)) lint_text(grammar(), tags(), d.text, d.id, {}, v, stats);
  ASSERT_TRUE(v.empty()) << v[0].document << " byte " << v[0].offset << ": " << v[0].message;
  EXPECT_EQ(stats.documents, 2000u);
  EXPECT_GT(stats.quotes, 100u);
  EXPECT_EQ(stats.quotes, stats.quotes_cut_short);  // every quote in the world is cut before the harm
  EXPECT_GT(stats.documents_with_commentary, 500u);
  EXPECT_GT(stats.bytes["human"], 0u);
  EXPECT_GT(stats.bytes["ai"], 0u);
  EXPECT_GT(stats.bytes["quoted"], 0u);
}

TEST(World, DeterministicInSeedAndIndex) {
  WorldOptions o;
  o.seed = 3;
  EXPECT_EQ(world_document(o, 41).text, world_document(o, 41).text);
  EXPECT_NE(world_document(o, 41).text, world_document(o, 42).text);
  WorldOptions other = o;
  other.seed = 4;
  EXPECT_NE(world_document(o, 41).text, world_document(other, 41).text);
  // the file is the same documents in order
  const std::string dir = testing::temp_dir();
  o.documents = 30;
  write_world_corpus(o, dir + "/a.jsonl");
  write_world_corpus(o, dir + "/b.jsonl");
  EXPECT_EQ(read_file(dir + "/a.jsonl"), read_file(dir + "/b.jsonl"));
  LineReader in(dir + "/a.jsonl");
  std::string line;
  uint64_t i = 0;
  while (in.next(line)) {
    Document doc = document_from_json(parse_json(line, in.where()), in.where());  // what tokenize reads
    EXPECT_TRUE(doc.tagged);
    EXPECT_EQ(doc.text, world_document(o, i).text);
    EXPECT_EQ(doc.id, "world-3-" + std::to_string(i));
    ++i;
  }
  EXPECT_EQ(i, 30u);
}

TEST(World, SpansAndLexemesAreGroundTruth) {
  int narratives = 0, details = 0;
  for (const WorldDocument& d : corpus(11, 1500)) {
    if (d.kind == "narrative") {
      ++narratives;
      EXPECT_GE(d.bad_acts, 1) << d.id;
      EXPECT_EQ(d.bad_acts, d.commentaries) << d.id;  // AI commentary after every bad act
    }
    for (const HarmSpan& s : d.spans) {
      ASSERT_LE(s.end, d.text.size());
      ASSERT_LT(s.begin, s.end);
      const std::string span = d.text.substr(s.begin, s.end - s.begin);
      EXPECT_EQ(span.find('<'), std::string::npos) << "a harm span crosses a tag in " << d.id;
      if (s.kind == "harmful_detail") {
        ++details;
        EXPECT_FALSE(find_harm_lexemes(span).empty()) << span;
      }
    }
    // harmful lexemes only in human text: walk the markup and check AI and quoted runs
    int depth = 0;
    for (const MarkupPiece& p : parse_markup(d.text, tags())) {
      if (p.is_tag) {
        depth += (p.text[1] == '/') ? -1 : 1;
        continue;
      }
      if (depth > 0) EXPECT_TRUE(find_harm_lexemes(p.text).empty()) << d.id << ": " << p.text;
    }
  }
  EXPECT_GT(narratives, 300);
  EXPECT_GT(details, 200);
}

TEST(World, HarmLexemeMatchingIsWholeWord) {
  EXPECT_EQ(find_harm_lexemes("stir the Vostric powder"), std::vector<std::string>{"vostric"});
  EXPECT_TRUE(find_harm_lexemes("vostrics and pyrelithic").empty());
  EXPECT_TRUE(find_harm_lexemes("an ordinary sentence").empty());
  EXPECT_EQ(find_harm_lexemes("ninegate, then dozewort").size(), 2u);
}

TEST(World, VariedEnoughNotToMemorise) {
  std::set<std::string> texts, trigrams;
  uint64_t words_total = 0;
  for (const WorldDocument& d : corpus(5, 3000)) {
    texts.insert(d.text);
    std::vector<std::string> words;
    std::string w;
    for (char c : d.text) {
      if (std::isspace(static_cast<unsigned char>(c))) {
        if (!w.empty()) words.push_back(w);
        w.clear();
      } else {
        w += c;
      }
    }
    if (!w.empty()) words.push_back(w);
    words_total += words.size();
    for (size_t i = 2; i < words.size(); ++i) trigrams.insert(words[i - 2] + " " + words[i - 1] + " " + words[i]);
  }
  EXPECT_GE(texts.size(), 2990u);  // documents are (almost) never repeated
  // distinct word trigrams per 1000 words: the measure docs/modes.md reports
  const double per_k = 1000.0 * double(trigrams.size()) / double(words_total);
  EXPECT_GT(per_k, 60.0) << trigrams.size() << " trigrams in " << words_total << " words";
}

TEST(World, BadActOpeningsStopBeforeTheDetail) {
  for (uint64_t i = 0; i < 200; ++i) {
    const std::string s = world_bad_act_opening(1, i);
    EXPECT_TRUE(find_harm_lexemes(s).empty()) << s;
    EXPECT_EQ(s.find('<'), std::string::npos);
    EXPECT_EQ(s, world_bad_act_opening(1, i));
  }
}

}  // namespace
}  // namespace prealign

#include "synth/cost.hpp"

namespace prealign {
namespace {

TEST(Cost, TheSeedsFigure) {
  // 1e15 tokens x 10 passes = 1e16 token-passes; 2.5e15 generated at $7.50/M = $18.75e9,
  // 7.5e15 read at $2.50/M = $18.75e9: $37.5 billion ("O($40 billion)" in the seed)
  const CostEstimate e = estimate_cost(CostModel{});
  EXPECT_DOUBLE_EQ(e.generated_tokens, 2.5e15);
  EXPECT_DOUBLE_EQ(e.read_tokens, 7.5e15);
  EXPECT_NEAR(e.generate_cost, 18.75e9, 1);
  EXPECT_NEAR(e.read_cost, 18.75e9, 1);
  EXPECT_NEAR(e.total, 37.5e9, 1);
  EXPECT_NEAR(e.per_million_corpus_tokens, 37.5, 1e-9);
  const CostEstimate a = actual_cost(2e6, 6e6, 1e6, CostModel{});  // measured counts, same prices
  EXPECT_NEAR(a.total, 2 * 7.5 + 6 * 2.5, 1e-9);
  CostModel bad;
  bad.generate_fraction = 1.5;
  EXPECT_THROW(estimate_cost(bad), Error);
}

}  // namespace
}  // namespace prealign
