// UTF-8 validation: every text that enters prealign is checked once, at the door.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace prealign {

// True if `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
// On failure, *bad_offset (if given) receives the byte offset of the first bad byte.
bool is_valid_utf8(std::string_view s, size_t* bad_offset = nullptr);

// Length in bytes of the UTF-8 sequence starting with lead byte `c` (1 for invalid leads).
size_t utf8_sequence_length(unsigned char c);

// Encode one code point as UTF-8.
std::string utf8_encode(char32_t cp);

// Number of code points in valid UTF-8 text.
size_t utf8_length(std::string_view s);

// The largest prefix length <= n that does not cut a UTF-8 sequence in half.
size_t utf8_safe_prefix(std::string_view s, size_t n);

// `s` with every byte that is not part of a well-formed sequence replaced by
// U+FFFD (JSON strings must be UTF-8; a byte-fallback token may hold part of a character).
std::string replace_invalid_utf8(std::string_view s);

// `s` with every such byte replaced by one ASCII `replacement` byte: valid UTF-8 of
// exactly the same length, so byte offsets into `s` still hold (for scorers that
// read segment offsets, e.g. of a generated sample cut mid-character).
std::string mask_invalid_utf8(std::string_view s, char replacement = '?');

}  // namespace prealign
