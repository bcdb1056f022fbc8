// Text normalisation for lexicon matching: UTF-8 decoding, case folding,
// word splitting with a byte map back to the original, re-joining letters
// split by separators ("i.d.i.o.t", "i d i o t"), and undoing leetspeak.
#include <algorithm>

#include "core/utf8.hpp"
#include "score/lexicon.hpp"

namespace prealign {

namespace {

constexpr char32_t kWildIL = 1;  // a "1" standing for i or l
constexpr char32_t kBad = 0xFFFD;

// The code point at byte i of s and its length; a byte that does not start a
// valid sequence is U+FFFD of length 1 (a separator).
char32_t decode_at(std::string_view s, size_t i, size_t* len) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  unsigned char c = p[i];
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
  char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
  bool ok = n > 0 && i + n <= s.size();
  for (size_t k = 1; ok && k < n; ++k) {
    ok = (p[i + k] & 0xC0) == 0x80;
    cp = (cp << 6) | (p[i + k] & 0x3F);
  }
  *len = ok ? n : 1;
  return ok ? cp : kBad;
}

// The code point after the one at byte i (0 at the end).
char32_t peek_next(std::string_view s, size_t i, size_t len) {
  size_t n;
  return i + len < s.size() ? decode_at(s, i + len, &n) : 0;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

bool is_letter(char32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  if (c < 0xC0 || c == 0xD7 || c == 0xF7 || c == kBad) return false;
  // punctuation, symbols, CJK punctuation, full-width ASCII punctuation, private use, emoji
  if ((c >= 0x2000 && c <= 0x2BFF) || (c >= 0x3000 && c <= 0x303F) || (c >= 0xE000 && c <= 0xF8FF) ||
      (c >= 0xFE30 && c <= 0xFE4F) || (c >= 0xFF00 && c <= 0xFF0F) || (c >= 0xFF1A && c <= 0xFF20) ||
      (c >= 0x1F000 && c <= 0x1FAFF))
    return false;
  return true;
}
bool is_digit(char32_t c) { return c >= '0' && c <= '9'; }
bool is_separator(char32_t c) { return c == ' ' || c == '.' || c == '-' || c == '_' || c == '*' || c == 0xB7; }
bool is_apostrophe(char32_t c) { return c == '\'' || c == 0x2019; }

char32_t unleet(char32_t c) {
  switch (c) {
    case '0':
      return 'o';
    case '1':
      return kWildIL;
    case '3':
      return 'e';
    case '4':
      return 'a';
    case '5':
      return 's';
    case '7':
      return 't';
    case '@':
      return 'a';
    case '$':
      return 's';
    default:
      return c;
  }
}

struct Token {
  std::vector<char32_t> cps;
  uint64_t begin, end;
  std::vector<std::pair<uint64_t, uint64_t>> pieces;  // set when joined from a spelled-out run
};

// Maximal runs of letters, digits, '$' and inner '@'; an apostrophe between
// letters is dropped ("don't" -> "dont") except before a final s ("idiot's"
// -> "idiot", "s"); a leading "@" before a letter is a mention marker, not leetspeak.
std::vector<Token> split_tokens(std::string_view text) {
  std::vector<Token> out;
  out.reserve(text.size() / 6 + 1);  // about one word per 6 bytes of prose; avoids moving tokens on growth
  Token cur{{}, 0, 0, {}};
  auto flush = [&] {
    if (!cur.cps.empty()) out.push_back(std::move(cur));
    cur = Token{{}, 0, 0, {}};
  };
  for (size_t i = 0, len = 0; i < text.size(); i += len) {
    char32_t c = decode_at(text, i, &len);
    char32_t next = peek_next(text, i, len);
    bool next_letter = is_letter(next);
    bool word = is_letter(c) || is_digit(c) || c == '$' || (c == '@' && !(cur.cps.empty() && next_letter));
    if (word) {
      if (cur.cps.empty()) cur.begin = i;
      cur.cps.push_back(c);
      cur.end = i + len;
    } else if (!(is_apostrophe(c) && !cur.cps.empty() && is_letter(cur.cps.back()) && next_letter)) {
      flush();
    } else if ((next == 's' || next == 'S') && !is_letter(peek_next(text, i + len, 1))) {
      flush();  // possessive "idiot's" is the word "idiot" (then "s")
    }
  }
  flush();
  return out;
}

// The single separator between two tokens, or 0 if the gap is anything else.
char32_t single_separator(std::string_view text, uint64_t from, uint64_t to) {
  if (from >= to) return 0;
  size_t len;
  char32_t c = decode_at(text, from, &len);
  return from + len == to && is_separator(c) ? c : 0;
}

// Runs of 3+ one-character tokens split by one repeated separator become one
// token: "i d i o t", "i.d.i.o.t", "s-h-1-t".
std::vector<Token> join_spelled_out(std::vector<Token> toks, std::string_view text) {
  std::vector<Token> out;
  out.reserve(toks.size());
  for (size_t i = 0; i < toks.size();) {
    size_t j = i + 1;
    char32_t sep = 0;
    if (toks[i].cps.size() == 1) {
      while (j < toks.size() && toks[j].cps.size() == 1) {
        char32_t s = single_separator(text, toks[j - 1].end, toks[j].begin);
        if (s == 0 || (sep != 0 && s != sep)) break;
        sep = s;
        ++j;
      }
    }
    if (j - i >= 3) {
      Token merged{{}, toks[i].begin, toks[j - 1].end, {}};
      for (size_t k = i; k < j; ++k) {
        merged.cps.push_back(toks[k].cps[0]);
        merged.pieces.push_back({toks[k].begin, toks[k].end});
      }
      out.push_back(std::move(merged));
      i = j;
    } else {
      out.push_back(std::move(toks[i]));
      ++i;
    }
  }
  return out;
}

}  // namespace

char32_t fold_case(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c < 0xC0) return c;
  if (c <= 0xDE) return c == 0xD7 ? c : c + 32;
  if (c == 0x130) return 'i';  // dotted capital I, before the even/odd pairs below
  if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) return c % 2 == 0 ? c + 1 : c;
  if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return c % 2 == 1 ? c + 1 : c;
  if (c == 0x178) return 0xFF;
  if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;  // Greek capitals
  if (c >= 0x410 && c <= 0x42F) return c + 32;                // Cyrillic А-Я
  if (c >= 0x400 && c <= 0x40F) return c + 80;                // Cyrillic Ѐ-Џ
  return c;
}

std::vector<NormWord> normalize_words(std::string_view text) {
  std::vector<Token> toks = join_spelled_out(split_tokens(text), text);
  std::vector<NormWord> out;
  out.reserve(toks.size());
  for (const Token& t : toks) {
    bool letters = std::any_of(t.cps.begin(), t.cps.end(), is_letter);
    NormWord w;
    w.begin = t.begin;
    w.end = t.end;
    w.pieces = t.pieces;
    for (char32_t c : t.cps) append_utf8(w.symbols, letters ? unleet(fold_case(c)) : c);
    out.push_back(std::move(w));
  }
  // A phrase may continue over spaces and separators (at most 3 bytes), not over other punctuation.
  for (size_t i = 0; i + 1 < out.size(); ++i) {
    std::string_view gap = text.substr(out[i].end, out[i + 1].begin - out[i].end);
    out[i].joins_next = gap.size() <= 3 && gap.find_first_not_of(" \t-_.*") == std::string_view::npos;
  }
  return out;
}

std::string word_key(const std::string& symbols) {
  // Works on the bytes: `symbols` is our own well-formed UTF-8.
  std::string out;
  out.reserve(symbols.size());
  std::string_view prev;
  for (size_t i = 0; i < symbols.size();) {
    size_t len = std::min(utf8_sequence_length(static_cast<unsigned char>(symbols[i])), symbols.size() - i);
    std::string_view cp(symbols.data() + i, len);
    if (cp == "l" || cp == "\x01") cp = "i";
    if (cp != prev) out += cp;
    prev = cp;
    i += len;
  }
  return out;
}

}  // namespace prealign
