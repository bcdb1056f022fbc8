// Constants shared by tokenizer training and encoding (not a public interface).
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace prealign {

// SentencePiece writes a space as U+2581 inside pieces.
inline constexpr std::string_view kSpaceMark = "\xE2\x96\x81";

// User-defined symbols of every prealign tokenizer, after the tags. They are
// matched before segmentation, so each is always one token: a newline, CRLF, a
// lone CR, and tab runs (SentencePiece's trainer uses the tab as an internal
// boundary, so it would never learn a piece containing one; tab-indented code
// would cost a byte token per tab).
inline const std::vector<std::string> kExtraSymbols = {"\n", "\r\n", "\r", "\t", "\t\t", "\t\t\t", "\t\t\t\t"};

}  // namespace prealign
