// The trusted markup reader: every exact occurrence of a declared tag name is a
// tag, everything else text; checked against a brute-force reference.
#include <gtest/gtest.h>

#include <random>

#include "corpus/markup.hpp"
#include "tokenizer/tagset.hpp"

using namespace prealign;

namespace {

Tagset make_tagset(const std::vector<std::string>& names) {
  json tags = json::array();
  for (const auto& n : names) tags.push_back({{"name", n}, {"category", "test"}, {"kind", "marker"}});
  return Tagset::from_json({{"name", "test"}, {"tags", tags}}, "test tagset");
}

Tagset ai_and_good_bad() {
  json tags = json::array({
      {{"name", "<|good|>"}, {"category", "alignment"}, {"kind", "marker"}},
      {{"name", "<|bad|>"}, {"category", "alignment"}, {"kind", "marker"}},
      {{"name", "<AI>"}, {"category", "mode"}, {"kind", "open"}, {"pair", "</AI>"}},
      {{"name", "</AI>"}, {"category", "mode"}, {"kind", "close"}, {"pair", "<AI>"}},
      {{"name", "<AI_quoting_human>"}, {"category", "mode"}, {"kind", "open"}, {"pair", "</AI_quoting_human>"}},
      {{"name", "</AI_quoting_human>"}, {"category", "mode"}, {"kind", "close"}, {"pair", "<AI_quoting_human>"}},
  });
  return Tagset::from_json({{"name", "both"}, {"tags", tags}}, "test tagset");
}

// Brute force: at each position try every name (longest match wins).
std::vector<MarkupPiece> reference(const std::string& text, const std::vector<std::string>& names) {
  std::vector<MarkupPiece> out;
  std::string run;
  size_t run_at = 0;
  for (size_t i = 0; i < text.size();) {
    std::string best;
    for (const auto& n : names)
      if (text.compare(i, n.size(), n) == 0 && n.size() > best.size()) best = n;
    if (best.empty()) {
      if (run.empty()) run_at = i;
      run += text[i++];
      continue;
    }
    if (!run.empty()) out.push_back({false, run, run_at});
    run.clear();
    out.push_back({true, best, i});
    i += best.size();
  }
  if (!run.empty()) out.push_back({false, run, run_at});
  return out;
}

void expect_same(const std::vector<MarkupPiece>& got, const std::vector<MarkupPiece>& want, const std::string& text) {
  ASSERT_EQ(got.size(), want.size()) << text;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].is_tag, want[i].is_tag) << text << " piece " << i;
    EXPECT_EQ(got[i].text, want[i].text) << text << " piece " << i;
    EXPECT_EQ(got[i].offset, want[i].offset) << text << " piece " << i;
  }
}

}  // namespace

TEST(Markup, SplitsTagsExactly) {
  Tagset ts = ai_and_good_bad();
  std::string text = "Hi <AI>I said <AI_quoting_human>x</AI_quoting_human> ok</AI><|bad|>";
  auto p = parse_markup(text, ts);
  ASSERT_EQ(p.size(), 9u);
  EXPECT_FALSE(p[0].is_tag);
  EXPECT_EQ(p[0].text, "Hi ");
  EXPECT_TRUE(p[1].is_tag);
  EXPECT_EQ(p[1].text, "<AI>");
  EXPECT_EQ(p[1].offset, 3u);
  EXPECT_EQ(p[2].text, "I said ");
  EXPECT_EQ(p[3].text, "<AI_quoting_human>");
  EXPECT_EQ(p[4].text, "x");
  EXPECT_EQ(p[5].text, "</AI_quoting_human>");
  EXPECT_EQ(p[6].text, " ok");
  EXPECT_EQ(p[7].text, "</AI>");
  EXPECT_TRUE(p[8].is_tag);
  EXPECT_EQ(p[8].text, "<|bad|>");
  EXPECT_EQ(p[8].offset, text.size() - 7);
}

TEST(Markup, NoTagNamesIsOneTextPiece) {
  Tagset ts = ai_and_good_bad();
  std::string text = "plain < AI > text with <|BAD|> look-alikes, </AI and <AI_quoting_human";
  auto p = parse_markup(text, ts);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_FALSE(p[0].is_tag);
  EXPECT_EQ(p[0].text, text);
  EXPECT_EQ(p[0].offset, 0u);
  EXPECT_TRUE(parse_markup("", ts).empty());
  EXPECT_EQ(parse_markup("a<AI>b", Tagset()).size(), 1u);  // no declared tags: all text
}

TEST(Markup, AdjacentAndNestedTags) {
  Tagset ts = ai_and_good_bad();
  auto p = parse_markup("<AI><AI></AI><|good|>", ts);
  ASSERT_EQ(p.size(), 4u);
  for (auto& piece : p) EXPECT_TRUE(piece.is_tag);
  EXPECT_EQ(p[3].offset, 13u);
  p = parse_markup("<<AI>>", ts);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].text, "<");
  EXPECT_EQ(p[1].text, "<AI>");
  EXPECT_EQ(p[2].text, ">");
}

TEST(Markup, LongestNameWinsAndMatchesABruteForceReference) {
  const std::vector<std::string> names = {"<x>", "<x>>", "ab", "abc", "<\xE2\x9C\x93>", "<|bad|>"};
  Tagset ts = make_tagset(names);
  std::mt19937 rng(11);
  const std::vector<std::string> atoms = {"<", ">", "x", "a", "b", "c", " ", "\xE2\x9C\x93", "\xE2\x9C", "|",
                                          "bad", "<x>", "<|bad|>", "\n", "\xC3\xA9"};
  for (int trial = 0; trial < 2000; ++trial) {
    std::string text;
    int n = int(rng() % 12);
    for (int i = 0; i < n; ++i) text += atoms[rng() % atoms.size()];
    expect_same(parse_markup(text, ts), reference(text, names), text);
  }
}
