// How generated tokens line up with the response text, for OpenAI's logprobs
// and the per-token "prealign" records: each token gets the characters it
// completes, so the pieces join to exactly the text. A character split over
// byte-fallback tokens belongs to the token that completes it; tags are not
// text and get none; offsets count characters (Unicode code points), as
// OpenAI-compatible servers written in Python do.
#pragma once
#include <deque>
#include <string>
#include <vector>

#include "decode/generator.hpp"

namespace prealign {

struct AlignedToken {
  size_t index = 0;        // position among the generated tokens
  TokenRecord record;
  std::string piece;       // valid UTF-8; "" for tags (and tokens without bytes, like EOS)
  size_t text_offset = 0;  // characters of the text before the piece
};

size_t count_characters(const std::string& valid_utf8);

// A token's bytes as logprobs show an alternative: the text itself when it is
// valid UTF-8, else "bytes:\xe2\x82" (as OpenAI shows partial characters), so
// distinct byte tokens stay distinct.
std::string token_display(const std::string& bytes);

// Streams bytes as UTF-8 text: a token may end inside a character, so the
// incomplete tail waits for the next token (invalid bytes become U+FFFD).
// Pieces pushed one by one join to what the whole would give at once.
class Utf8Stream {
 public:
  std::string push(const std::string& bytes);
  std::string flush();
  bool holding() const { return !pending_.empty(); }

 private:
  std::string pending_;
};

// Tokens in, aligned tokens out, as their pieces become final: a token's piece
// is final once the text up to its end is (a stream holds back what could
// still begin a stop string), and a token whose bytes end inside a character
// waits, with those after it, until the next text token or the end.
class TokenTextAligner {
 public:
  void add(const TokenRecord& token);
  // Tokens whose bytes end at or before byte `until` of the text.
  std::vector<AlignedToken> release(size_t until);
  // The text ends at byte `end` (a stop string begins there, or the text is
  // complete): a token reaching past it keeps the part before it, tokens
  // beginning at or after it are dropped (tags and empty tokens right at it
  // are kept), and the incomplete character at the end, if any, becomes
  // U+FFFD in the last text token's piece. Everything left is released.
  std::vector<AlignedToken> finish(size_t end);
  std::vector<AlignedToken> finish() { return finish(text_.size()); }
  const std::string& text() const { return text_; }  // the raw bytes of the text tokens so far

 private:
  struct Pending {
    AlignedToken token;
    size_t begin, end;  // bytes of text_
  };
  void emit(Pending p, size_t until, std::vector<AlignedToken>& out);

  std::string text_;
  std::deque<Pending> queue_;        // added, not yet released
  std::vector<AlignedToken> held_;   // released, but the first ends inside a character
  Utf8Stream utf8_;
  size_t characters_ = 0, added_ = 0;
};

// Every token of a finished generation, aligned with its (whole) text.
std::vector<AlignedToken> align_tokens(const Generation& g);

}  // namespace prealign
