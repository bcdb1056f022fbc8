// Random valid UTF-8 built to hit what tokenizers get wrong: whitespace runs,
// tabs, CR/LF, U+2581, NUL, control characters, CJK, emoji, combining marks and
// code points from every plane.
#pragma once
#include <string>

#include "core/rng.hpp"
#include "core/utf8.hpp"

namespace prealign::testing {

inline char32_t random_code_point(Rng& rng) {
  while (true) {
    const char32_t plane = static_cast<char32_t>(rng() % 17);
    const char32_t cp = (plane << 16) | static_cast<char32_t>(rng() & 0xFFFF);
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;  // surrogates are not characters
    return cp;
  }
}

inline std::string random_fragment(Rng& rng) {
  static const char* words[] = {"return", "self", "def", "the", "model", "value", "==", "):", "None", "import"};
  std::string s;
  switch (rng() % 13) {
    case 0:
      for (size_t n = 1 + rng() % 12; n; --n) s += static_cast<char>(0x20 + rng() % 95);
      break;
    case 1:
      s.append(1 + rng() % 20, ' ');
      break;
    case 2:
      s.append(1 + rng() % 9, '\t');
      break;
    case 3:
      s += (rng() % 3 == 0) ? "\r\n" : (rng() % 2 ? "\n" : "\r");
      break;
    case 4:
      for (size_t n = 1 + rng() % 3; n; --n) s += "\xE2\x96\x81";
      break;
    case 5:
      s.append(1 + rng() % 2, '\0');
      break;
    case 6:  // CJK ideographs
      s += utf8_encode(0x4E00 + rng() % 0x5200);
      break;
    case 7:  // emoji and pictographs
      s += utf8_encode(0x1F300 + rng() % 0x800);
      break;
    case 8:
      s += static_cast<char>('a' + rng() % 26);
      for (size_t n = 1 + rng() % 3; n; --n) s += utf8_encode(0x0300 + rng() % 0x70);  // combining marks
      break;
    case 9:
      for (size_t n = 1 + rng() % 4; n; --n) s += utf8_encode(random_code_point(rng));
      break;
    case 10:  // C0 controls, DEL
      s += static_cast<char>(rng() % 2 ? 1 + rng() % 31 : 0x7F);
      break;
    case 11:  // Latin-1 .. Arabic
      s += utf8_encode(0x80 + rng() % 0x780);
      break;
    default:
      s += words[rng() % (sizeof(words) / sizeof(words[0]))];
      break;
  }
  return s;
}

inline std::string random_text(Rng& rng, size_t max_fragments = 16) {
  std::string s;
  for (size_t n = rng() % (max_fragments + 1); n; --n) s += random_fragment(rng);
  return s;
}

}  // namespace prealign::testing
