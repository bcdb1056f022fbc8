// Tokens lined up with the response text: the pieces join to exactly the text
// (whatever bytes the tokens hold, however a stream releases them), offsets
// count characters, tags take no text; and the logprobs and stream shapes
// built on them.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/utf8.hpp"
#include "serve/openai.hpp"

namespace prealign {
namespace {

TokenRecord token(const std::string& text, bool tag = false, float p = 0.5f) {
  TokenRecord r;
  r.text = text;
  r.is_tag = tag;
  r.p_raw = p;
  return r;
}

Generation generation(const std::vector<TokenRecord>& tokens) {
  Generation g;
  g.context = {1, 2};
  g.tokens = tokens;
  for (const auto& t : tokens)
    if (!t.is_tag) g.text += t.text;
  g.finish_reason = "length";
  return g;
}

std::string joined(const std::vector<AlignedToken>& a) {
  std::string s;
  for (const auto& t : a) s += t.piece;
  return s;
}

TEST(TokenText, Utf8StreamHoldsHalfCharacters) {
  Utf8Stream s;
  const std::string euro = "\xE2\x82\xAC";
  EXPECT_EQ(s.push("a" + euro.substr(0, 1)), "a");
  EXPECT_EQ(s.push(euro.substr(1, 1)), "");
  EXPECT_EQ(s.push(euro.substr(2) + "b"), euro + "b");
  EXPECT_EQ(s.push("\xFF" "c"), "\xEF\xBF\xBD" "c");  // an invalid byte is replaced, not held
  EXPECT_EQ(s.push("\xE2\x82"), "");
  EXPECT_EQ(s.flush(), "\xEF\xBF\xBD\xEF\xBF\xBD");  // a cut-off character at the end
}

TEST(TokenText, ACharacterBelongsToTheTokenThatCompletesIt) {
  const std::string euro = "\xE2\x82\xAC";
  Generation g = generation({token("a\xE2"), token("<AI>", true), token("\x82"), token("\xAC" "b"), token("c")});
  const std::vector<AlignedToken> a = align_tokens(g);
  ASSERT_EQ(a.size(), 5u);
  EXPECT_EQ(a[0].piece, "a");
  EXPECT_EQ(a[1].piece, "");  // the tag
  EXPECT_EQ(a[2].piece, "");  // half a character
  EXPECT_EQ(a[3].piece, euro + "b");
  EXPECT_EQ(a[4].piece, "c");
  EXPECT_EQ(joined(a), replace_invalid_utf8(g.text));
  // Offsets in characters: "a" | <AI> | "" | "€b" | "c"
  EXPECT_EQ(a[3].text_offset, 1u);
  EXPECT_EQ(a[4].text_offset, 3u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].index, i);
}

TEST(TokenText, ACharacterCutOffAtTheEndGoesToTheLastTextToken) {
  Generation g = generation({token("x"), token("\xF0\x9F"), token("<AI>", true)});
  const std::vector<AlignedToken> a = align_tokens(g);
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(joined(a), replace_invalid_utf8(g.text));
  EXPECT_NE(a[1].piece, "");  // the replacement of the cut-off bytes
  EXPECT_EQ(a[2].text_offset, count_characters(joined(a)));  // the tag sits after it
}

// Whatever bytes the tokens hold and however a stream releases them, the
// pieces join to the text, and offsets are the characters before each piece.
TEST(TokenText, PiecesJoinToTheTextForArbitraryBytes) {
  std::mt19937 rng(7);
  const std::vector<std::string> alphabet = {"a", "\xE2", "\x82", "\xAC", "\xF0", "\x9F", "\x98", "\x80", "\xFF",
                                             "\xC3", "\xA9", " ", "\xED\xA0\x80"};
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<TokenRecord> tokens;
    const int n = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < n; ++i) {
      if (rng() % 5 == 0) {
        tokens.push_back(token("<AI>", true));
        continue;
      }
      std::string t;
      for (int k = static_cast<int>(rng() % 4); k > 0; --k) t += alphabet[rng() % alphabet.size()];
      tokens.push_back(token(t));
    }
    const Generation g = generation(tokens);
    const std::string text = replace_invalid_utf8(g.text);
    const std::vector<AlignedToken> whole = align_tokens(g);
    ASSERT_EQ(joined(whole), text) << "trial " << trial;
    ASSERT_EQ(whole.size(), tokens.size());
    size_t chars = 0;
    for (const auto& t : whole) {
      ASSERT_EQ(t.text_offset, chars);
      chars += count_characters(t.piece);
    }
    // A stream: release at random points, then finish.
    TokenTextAligner stream;
    std::vector<AlignedToken> streamed;
    for (const auto& t : tokens) {
      stream.add(t);
      const size_t until = stream.text().size() - std::min<size_t>(stream.text().size(), rng() % 3);
      for (auto& a : stream.release(until)) streamed.push_back(a);
    }
    for (auto& a : stream.finish()) streamed.push_back(a);
    ASSERT_EQ(streamed.size(), whole.size());
    for (size_t i = 0; i < whole.size(); ++i) {
      ASSERT_EQ(streamed[i].index, whole[i].index);
      ASSERT_EQ(streamed[i].piece, whole[i].piece) << "trial " << trial << " token " << i;
      ASSERT_EQ(streamed[i].text_offset, whole[i].text_offset);
    }
  }
}

TEST(TokenText, AStopCutKeepsWhatComesBeforeIt) {
  Generation g = generation({token("ab"), token("c\n"), token("<AI>", true), token("\nde")});
  ASSERT_TRUE(apply_stop(g, {"\n\n"}));
  const std::vector<AlignedToken> a = align_tokens(g);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(joined(a), "abc");
  // The same from a stream that finds the stop string as it goes.
  TokenTextAligner s;
  std::vector<AlignedToken> streamed;
  for (const auto& t : {token("ab"), token("c\n"), token("<AI>", true), token("\nde")}) {
    s.add(t);
    const size_t cut = find_stop(s.text(), {"\n\n"});
    if (cut != std::string::npos) {
      for (auto& x : s.finish(cut)) streamed.push_back(x);
      break;
    }
    for (auto& x : s.release(s.text().size() - 1)) streamed.push_back(x);  // a 2-byte stop: hold 1 byte back
  }
  EXPECT_EQ(joined(streamed), "abc");
  ASSERT_EQ(streamed.size(), a.size());  // the tag after "c\n" lies inside the stop string: gone in both
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(streamed[i].piece, a[i].piece);
}

TEST(OpenAiLogprobs, TagsAreLeftOutAndAlternativesAreListed) {
  TokenRecord a = token("Hi", false, 0.25f);
  a.top_raw = {{7, "Hi", 0.25f}, {8, "</AI>", 0.125f}, {9, "Ho", 0.0625f}};
  Generation g = generation({a, token("<AI_quoting_human>", true), token(" there", false, 0.5f)});
  SamplingRequest r;
  r.logprobs = true;
  r.top_logprobs = 3;
  const json lp = completion_logprobs(align_tokens(g), r);
  EXPECT_EQ(lp["tokens"], json({"Hi", " there"}));
  EXPECT_EQ(lp["text_offset"], json({0, 2}));
  EXPECT_NEAR(lp["token_logprobs"][0].get<double>(), std::log(0.25), 1e-6);
  ASSERT_EQ(lp["top_logprobs"].size(), 2u);
  EXPECT_NEAR(lp["top_logprobs"][0]["</AI>"].get<double>(), std::log(0.125), 1e-6);
  EXPECT_EQ(lp["top_logprobs"][0].size(), 3u);
  const json chat = chat_logprobs(align_tokens(g), r);
  ASSERT_EQ(chat["content"].size(), 2u);
  EXPECT_EQ(chat["content"][0]["top_logprobs"][1]["token"], "</AI>");
  EXPECT_EQ(chat["content"][1]["bytes"], json({32, 116, 104, 101, 114, 101}));
  EXPECT_EQ(chat.size(), 1u);  // only "content": the client's stream accumulator rejects other keys
  r.top_logprobs = 0;
  EXPECT_TRUE(completion_logprobs(align_tokens(g), r)["top_logprobs"].is_null());
}

TEST(OpenAiStream, RoleFirstUsageLast) {
  SamplingRequest r;
  const ResponseMeta m{"chatcmpl-1", "m", 7};
  TokenRecord t = token("x");
  json first = chat_chunk(StreamPiece{0, "x", &t, {}, true}, r, m);
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  json later = chat_chunk(StreamPiece{0, "y", &t, {}, false}, r, m);
  EXPECT_FALSE(later["choices"][0]["delta"].contains("role"));
  const Generation g = generation({t});
  EXPECT_EQ(final_chunk(true, 0, true, g, m)["choices"][0]["delta"]["role"], "assistant");  // no token was sent
  EXPECT_EQ(final_chunk(true, 0, false, g, m)["choices"][0]["delta"], json::object());
  const json u = usage_chunk(true, {g, g}, 2, m);
  EXPECT_EQ(u["choices"], json::array());
  EXPECT_EQ(u["usage"]["prompt_tokens"], 2);
  EXPECT_EQ(u["usage"]["completion_tokens"], 2);
  EXPECT_EQ(u["object"], "chat.completion.chunk");
}

}  // namespace
}  // namespace prealign
