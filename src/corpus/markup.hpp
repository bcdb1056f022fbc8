// The trusted corpus markup reader: splits text of corpora declared as tagged
// into plain-text runs and tag occurrences. This is one of only two places
// (the other is the decoding policy) where tag ids may enter a token sequence.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tagset.hpp"

namespace prealign {

struct MarkupPiece {
  bool is_tag = false;
  std::string text;      // the plain text, or the tag name
  uint64_t offset = 0;   // byte offset in the source text
};

// Every exact occurrence of a declared tag name becomes a tag piece; nothing
// else is interpreted (there is no escape syntax: tagged corpora are trusted).
std::vector<MarkupPiece> parse_markup(std::string_view text, const Tagset& tagset);

}  // namespace prealign
