// decode(encode(x)) == x byte for byte, for both model types, on random text and
// on real Python source; decode agrees with the token_bytes table and, where
// SentencePiece's own decoder is defined the same way, with SentencePiece.
#include <sentencepiece_processor.h>

#include "fixture.hpp"
#include "random_text.hpp"

namespace prealign {
namespace {

using testing::trained;

class RoundTrip : public ::testing::TestWithParam<std::string> {
 protected:
  const Tokenizer& tok() { return trained(GetParam()); }

  // Every id is a text token; decode restores the input; decode is the
  // concatenation of token_bytes.
  void check(const std::string& text) {
    const std::vector<int> ids = tok().encode(text);
    std::string concat;
    for (int id : ids) {
      ASSERT_FALSE(tok().is_tag(id)) << json(text).dump();
      ASSERT_FALSE(tok().is_special(id)) << json(text).dump();
      concat += tok().token_bytes(id);
    }
    const std::string back = tok().decode(ids);
    ASSERT_EQ(back, text) << "input " << json(text).dump();
    ASSERT_EQ(concat, back);
  }
};

TEST_P(RoundTrip, EdgeCases) {
  const std::vector<std::string> cases = {
      "",
      " ",
      "   ",
      "\n",
      "\n\n\n",
      "\r\n",
      "\r",
      "\r\r\n\n\r",
      "\t",
      "\t\t\t\t\t\t\t\t\t",
      " \t \t ",
      "    def f(self):\n        return 1\n",
      "\tif x:\n\t\treturn y\r\n",
      "trailing   ",
      "   leading",
      "two  spaces",
      "\xE2\x96\x81",
      "a\xE2\x96\x81\xE2\x96\x81"
      "b",
      " \xE2\x96\x81 ",
      std::string("\0", 1),
      std::string("a\0\0b", 4),
      std::string("\0\xE2\x96\x81\0", 5),
      "\xE2\x96\x85 unknown mark",
      "\xEF\xBF\xBD replacement char",
      "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\xE6\x96\x87",
      "\xF0\x9F\x98\x80\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD",
      "e\xCC\x81\xCC\x82 combining",
      "\xEF\xAC\x81 ligature, \xEF\xBD\x86\xEF\xBD\x95\xEF\xBD\x8C\xEF\xBD\x8C width",
      "\xC2\xA0nbsp\xE3\x80\x80ideographic space\xE2\x80\x8Bzwsp",
      "\xF4\x8F\xBF\xBF max code point",
      "\x7F\x01\x1B[0m",
      "12345678901234567890",
  };
  for (const std::string& c : cases) check(c);
}

TEST_P(RoundTrip, RandomStrings) {
  Rng rng(GetParam() == "bpe" ? 1 : 2);
  for (int i = 0; i < 3000; ++i) {
    check(testing::random_text(rng));
    if (HasFatalFailure()) return;
  }
}

TEST_P(RoundTrip, PythonFiles) {
  size_t files = 0;
  for (bool held_out : {true, false})
    for (const std::string& path : testing::python_files(held_out)) {
      const std::string text = read_file(path);
      check(text);
      // Line by line too: segment boundaries in the corpus are arbitrary.
      size_t start = 0;
      for (size_t i = 0; i <= text.size(); ++i)
        if (i == text.size() || text[i] == '\n') {
          check(text.substr(start, i + 1 - start));
          start = i + 1;
        }
      ++files;
    }
  EXPECT_GE(files, 4u);
}

// SentencePiece's decoder as an independent reference: for text without a
// literal U+2581 or NUL (which we route around it) it must agree with ours.
TEST_P(RoundTrip, AgreesWithSentencePieceDecoder) {
  sentencepiece::SentencePieceProcessor sp;
  ASSERT_TRUE(sp.LoadFromSerializedProto(tok().serialized_model()).ok());
  Rng rng(3);
  for (int i = 0; i < 500; ++i) {
    std::string text = testing::random_text(rng);
    std::string clean;
    for (size_t k = 0; k < text.size(); ++k) {
      if (text[k] == '\0') continue;
      if (text.compare(k, 3, "\xE2\x96\x81") == 0) {
        k += 2;
        continue;
      }
      clean += text[k];
    }
    const std::vector<int> ids = tok().encode(clean);
    std::string reference;
    ASSERT_TRUE(sp.Decode(ids, &reference).ok());
    ASSERT_EQ(tok().decode(ids), reference) << json(clean).dump();
  }
}

// encode() cuts text into words (and caches them); SentencePiece on the whole
// text must give the same segmentation (BPE: the same ids; unigram: an equally
// scored path), on real source and on random text.
TEST_P(RoundTrip, WordSplittingMatchesWholeTextEncoding) {
  sentencepiece::SentencePieceProcessor sp;
  ASSERT_TRUE(sp.LoadFromSerializedProto(tok().serialized_model()).ok());
  std::vector<std::string> texts;
  for (const std::string& path : testing::python_files(true)) texts.push_back(read_file(path));
  Rng rng(4);
  for (int i = 0; i < 1000; ++i) {
    std::string clean;
    for (char c : testing::random_text(rng)) clean += (c == '\0') ? ' ' : c;
    size_t mark;
    while ((mark = clean.find("\xE2\x96\x81")) != std::string::npos) clean.replace(mark, 3, "  ");
    texts.push_back(clean);
  }
  auto score = [&](const std::vector<int>& ids) {
    double sum = 0;
    for (int id : ids) sum += sp.GetScore(id);
    return sum;
  };
  for (const std::string& text : texts) {
    std::vector<int> whole;
    ASSERT_TRUE(sp.Encode(text, &whole).ok());
    const std::vector<int> ours = tok().encode(text);
    ASSERT_EQ(tok().encode(text), ours) << "second (cached) encoding differs";
    if (GetParam() == "bpe") {
      ASSERT_EQ(ours, whole) << json(text.substr(0, 200)).dump();
    } else {
      // Unigram: Viterbi ties (e.g. 20 spaces as 8+12 or 12+8) may break either
      // way once scores are summed from a different start, so compare the path
      // scores: both must be optimal.
      ASSERT_NEAR(score(ours), score(whole), 1e-4 * (1 + std::abs(score(whole)))) << json(text.substr(0, 200)).dump();
    }
  }
}

// The whitespace structure of code: a newline is one token, indentation gets
// whitespace-run pieces, tab runs and CRLF are single tokens.
TEST_P(RoundTrip, WhitespaceTokens) {
  auto pieces = [&](const std::string& s) {
    std::vector<std::string> out;
    for (int id : tok().encode(s)) out.push_back(tok().token_bytes(id));
    return out;
  };
  EXPECT_EQ(pieces("\n"), std::vector<std::string>{"\n"});
  EXPECT_EQ(pieces("\r\n"), std::vector<std::string>{"\r\n"});
  EXPECT_EQ(pieces("\t\t\t\t\t"), (std::vector<std::string>{"\t\t\t\t", "\t"}));
  EXPECT_EQ(pieces("a\n\nb").size(), 4u);
  // Eight spaces of indentation before code: at most two tokens of spaces.
  const auto p = pieces("\n        return value\n");
  ASSERT_GE(p.size(), 3u);
  EXPECT_EQ(p[0], "\n");
  size_t spaces = 0, tokens = 1;
  for (; tokens < p.size() && p[tokens].find_first_not_of(' ') == std::string::npos; ++tokens)
    spaces += p[tokens].size();
  // The last run may carry the space into the next word ("▁return"), so count
  // the leading spaces of the first non-space token too.
  if (tokens < p.size()) spaces += p[tokens].find_first_not_of(' ');
  EXPECT_EQ(spaces, 8u);
  EXPECT_LE(tokens - 1, 2u) << "indentation split into " << tokens - 1 << " tokens";
}

INSTANTIATE_TEST_SUITE_P(Models, RoundTrip, ::testing::Values("bpe", "unigram"));

}  // namespace
}  // namespace prealign
