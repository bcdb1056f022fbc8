// Segmenters: exact coverage on real and fuzzed text, line/paragraph rules
// checked against independent reference splits, and sentence accuracy on the
// hand-labeled set testsets/sentences/labeled.jsonl (figures printed).
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <set>
#include <sstream>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/json_io.hpp"
#include "core/lines.hpp"
#include "score/segmenter.hpp"
#include "test_util.hpp"

using namespace prealign;

namespace {

const SegmenterKind kAllKinds[] = {SegmenterKind::Sentence, SegmenterKind::Line, SegmenterKind::Paragraph,
                                   SegmenterKind::Document};

std::vector<std::string> pieces(std::string_view text, const std::vector<Span>& spans) {
  std::vector<std::string> out;
  for (const Span& s : spans) out.emplace_back(text.substr(s.begin, s.end - s.begin));
  return out;
}

// Contiguous, non-empty, starting at 0 and ending at the end of the text.
void expect_exact_cover(std::string_view text, const std::vector<Span>& spans, const std::string& what) {
  if (text.empty()) {
    EXPECT_TRUE(spans.empty()) << what;
    return;
  }
  ASSERT_FALSE(spans.empty()) << what;
  EXPECT_EQ(spans.front().begin, 0u) << what;
  EXPECT_EQ(spans.back().end, text.size()) << what;
  for (size_t i = 0; i < spans.size(); ++i) {
    EXPECT_LT(spans[i].begin, spans[i].end) << what << " segment " << i;
    if (i > 0) {
      EXPECT_EQ(spans[i].begin, spans[i - 1].end) << what << " segment " << i;
    }
  }
}

std::string tricky_text(std::mt19937& rng, size_t n) {
  static const std::vector<std::string> atoms = {"a",
                                                 "B",
                                                 " ",
                                                 "  ",
                                                 "\n",
                                                 "\n\n",
                                                 "\t",
                                                 ".",
                                                 "...",
                                                 "!",
                                                 "?",
                                                 "\"",
                                                 "'",
                                                 ")",
                                                 "(",
                                                 "Mr.",
                                                 "e.g.",
                                                 "U.S.",
                                                 "3.14",
                                                 "J.",
                                                 "\xE2\x80\xA6",
                                                 "\xE3\x80\x82",
                                                 "\xE2\x80\x9D",
                                                 "1.",
                                                 "\r\n",
                                                 "x",
                                                 "The",
                                                 "*",
                                                 "\xC3"};
  std::string s;
  while (s.size() < n) s += atoms[rng() % atoms.size()];
  return s;
}

struct Labeled {
  std::string text;
  std::vector<std::string> sentences;
};

std::vector<Labeled> load_labeled() {
  std::string path = prealign::testing::source_path("testsets/sentences/labeled.jsonl");
  LineReader reader(path);
  std::vector<Labeled> out;
  std::string line;
  while (reader.next(line)) {
    if (line.empty()) continue;
    json j = parse_json(line, reader.where());
    Labeled c{j.at("text").get<std::string>(), j.at("sentences").get<std::vector<std::string>>()};
    out.push_back(std::move(c));
  }
  return out;
}

std::set<uint64_t> inner_boundaries(const std::vector<std::string>& parts) {
  std::set<uint64_t> out;
  uint64_t at = 0;
  for (size_t i = 0; i + 1 < parts.size(); ++i) out.insert(at += parts[i].size());
  return out;
}

}  // namespace

TEST(Segmenter, ParsesNamesAndRejectsUnknown) {
  for (SegmenterKind k : kAllKinds) EXPECT_EQ(parse_segmenter(to_string(k), "t"), k);
  EXPECT_THROW(parse_segmenter("sentences", "config.json:3"), Error);
  try {
    parse_segmenter("word", "config.json:3");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "config.json:3");
  }
}

TEST(Segmenter, EmptyTextHasNoSegmentsAndDocumentIsWhole) {
  for (SegmenterKind k : kAllKinds) EXPECT_TRUE(segment_text("", k).empty());
  auto d = segment_text("One. Two.\n\nThree.", SegmenterKind::Document);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].end, 17u);
}

TEST(Segmenter, CoversRealTextExactly) {
  std::string text = read_text_file("/usr/lib/python3.11/textwrap.py");
  text += read_text_file("/usr/share/common-licenses/GPL-3");
  for (SegmenterKind k : kAllKinds) {
    auto spans = segment_text(text, k);
    expect_exact_cover(text, spans, to_string(k));
    std::string joined;
    for (auto& p : pieces(text, spans)) joined += p;
    EXPECT_EQ(joined, text) << to_string(k);
  }
  // Sanity on the count: the GPL has hundreds of sentences, far fewer paragraphs.
  EXPECT_GT(segment_text(text, SegmenterKind::Sentence).size(), 500u);
  EXPECT_LT(segment_text(text, SegmenterKind::Paragraph).size(), segment_text(text, SegmenterKind::Line).size());
}

TEST(Segmenter, CoversFuzzedTextExactly) {
  std::mt19937 rng(7);
  for (int round = 0; round < 300; ++round) {
    std::string text = tricky_text(rng, 1 + rng() % 120);
    for (SegmenterKind k : kAllKinds) expect_exact_cover(text, segment_text(text, k), to_string(k) + ": " + text);
  }
}

// Reference: lines by std::getline, each keeping its "\n".
TEST(Segmenter, LinesMatchGetlineReference) {
  std::string text = read_text_file("/usr/lib/python3.11/textwrap.py") + "\n\nlast line without newline";
  std::vector<std::string> ref;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) ref.push_back(in.eof() ? line : line + "\n");
  EXPECT_EQ(pieces(text, segment_text(text, SegmenterKind::Line)), ref);
}

// Each paragraph but the last ends in whitespace holding a blank line, and its
// content (before that whitespace) holds none.
TEST(Segmenter, ParagraphsEndAtBlankLines) {
  std::string text = "  Lead.\nSame para.\n\n\tSecond para\n \n\nThird\r\n\r\nFourth.\n";
  auto ps = pieces(text, segment_text(text, SegmenterKind::Paragraph));
  ASSERT_EQ(ps.size(), 4u);
  EXPECT_EQ(ps[0], "  Lead.\nSame para.\n\n\t");
  EXPECT_EQ(ps[1], "Second para\n \n\n");
  EXPECT_EQ(ps[2], "Third\r\n\r\n");
  EXPECT_EQ(ps[3], "Fourth.\n");
  std::string gpl = read_text_file("/usr/share/common-licenses/GPL-3");
  auto spans = segment_text(gpl, SegmenterKind::Paragraph);
  for (size_t i = 0; i + 1 < spans.size(); ++i) {
    std::string p = gpl.substr(spans[i].begin, spans[i].end - spans[i].begin);
    size_t content_end = p.find_last_not_of(" \t\r\n") + 1;
    std::string tail = p.substr(content_end), body = p.substr(0, content_end);
    EXPECT_GE(std::count(tail.begin(), tail.end(), '\n'), 2) << p;
    EXPECT_EQ(body.find("\n\n"), std::string::npos) << p;
  }
}

TEST(Segmenter, SentenceRulesOnSmallCases) {
  auto split = [](std::string t) { return pieces(t, segment_text(t, SegmenterKind::Sentence)); };
  using V = std::vector<std::string>;
  EXPECT_EQ(split("Mr. Smith left. He was tired."), (V{"Mr. Smith left. ", "He was tired."}));
  EXPECT_EQ(split("Pi is 3.14. Really."), (V{"Pi is 3.14. ", "Really."}));
  EXPECT_EQ(split("\n\nLeading blank lines.\n\n  Next"), (V{"\n\nLeading blank lines.\n\n  ", "Next"}));
  EXPECT_EQ(split("\"He left.\" She sighed."), (V{"\"He left.\" ", "She sighed."}));
  EXPECT_EQ(split("No break here"), (V{"No break here"}));
  EXPECT_EQ(split("   "), (V{"   "}));
}

TEST(Segmenter, SegmentIndexMatchesLinearSearch) {
  std::string text = read_text_file("/usr/share/common-licenses/GPL-3").substr(0, 5000);
  auto spans = segment_text(text, SegmenterKind::Sentence);
  ASSERT_TRUE(spans_valid(spans, text.size()));
  for (uint64_t off = 0; off < text.size(); off += 7) {
    size_t ref = 0;
    while (!(spans[ref].begin <= off && off < spans[ref].end)) ++ref;
    EXPECT_EQ(segment_index(spans, off), ref) << off;
  }
  EXPECT_EQ(segment_index(spans, text.size()), spans.size() - 1);
  EXPECT_FALSE(spans_valid({{0, 5}, {4, 8}}, 10));
  EXPECT_FALSE(spans_valid({{0, 11}}, 10));
  EXPECT_TRUE(spans_valid({{0, 3}, {5, 10}}, 10));
}

// The measured figure: accuracy = fraction of labeled texts split exactly right,
// plus boundary precision and recall. Floors are the measured values rounded down.
TEST(SentenceAccuracy, HandLabeledSet) {
  auto cases = load_labeled();
  ASSERT_GE(cases.size(), 200u);
  size_t exact = 0, tp = 0, n_pred = 0, n_gold = 0;
  std::vector<std::string> misses;
  for (const Labeled& c : cases) {
    std::string joined;
    for (auto& s : c.sentences) joined += s;
    ASSERT_EQ(joined, c.text) << "labeled case does not concatenate to its text";
    auto got = pieces(c.text, segment_text(c.text, SegmenterKind::Sentence));
    if (got == c.sentences)
      ++exact;
    else
      misses.push_back(c.text);
    auto gold = inner_boundaries(c.sentences), pred = inner_boundaries(got);
    for (uint64_t b : pred) tp += gold.count(b);
    n_pred += pred.size();
    n_gold += gold.size();
  }
  double accuracy = double(exact) / cases.size();
  double precision = n_pred ? double(tp) / n_pred : 1.0, recall = n_gold ? double(tp) / n_gold : 1.0;
  std::printf("sentence splitter on %zu labeled texts (%zu boundaries): exact %.3f  boundary P %.3f  R %.3f\n",
              cases.size(), n_gold, accuracy, precision, recall);
  for (auto& m : misses) std::printf("  miss: %s\n", json(m).dump().c_str());
  // Measured: exact 0.977, P 1.000, R 0.972 on 311 texts (docs/scoring.md).
  EXPECT_GE(accuracy, 0.97);
  EXPECT_GE(precision, 0.99);
  EXPECT_GE(recall, 0.96);
}
