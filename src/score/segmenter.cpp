// Segmenters. The sentence splitter is rule-based (no model): it finds
// terminator runs (. ! ? … and the CJK full-width forms), then decides with a
// few lexical rules whether the run really ends a sentence. Rules and the
// measured accuracy are in docs/scoring.md "Segmenters".
#include "score/segmenter.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

#include "core/error.hpp"

namespace prealign {

SegmenterKind parse_segmenter(const std::string& name, const std::string& where) {
  if (name == "sentence") return SegmenterKind::Sentence;
  if (name == "line") return SegmenterKind::Line;
  if (name == "paragraph") return SegmenterKind::Paragraph;
  if (name == "document") return SegmenterKind::Document;
  fail(where, "unknown segmenter \"" + name + "\"", "use sentence, line, paragraph or document");
}

std::string to_string(SegmenterKind k) {
  switch (k) {
    case SegmenterKind::Sentence:
      return "sentence";
    case SegmenterKind::Line:
      return "line";
    case SegmenterKind::Paragraph:
      return "paragraph";
    case SegmenterKind::Document:
      return "document";
  }
  return "?";
}

size_t segment_index(const std::vector<Span>& segments, uint64_t offset) {
  // First segment whose end is past `offset`; offsets at the very end go to the last one.
  auto it = std::upper_bound(segments.begin(), segments.end(), offset,
                             [](uint64_t off, const Span& s) { return off < s.end; });
  if (it == segments.end()) return segments.empty() ? 0 : segments.size() - 1;
  return static_cast<size_t>(it - segments.begin());
}

bool spans_valid(const std::vector<Span>& segments, uint64_t text_size) {
  uint64_t prev = 0;
  for (const Span& s : segments) {
    if (s.begin < prev || s.end < s.begin || s.end > text_size) return false;
    prev = s.end;
  }
  return true;
}

namespace {

bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_lower(unsigned char c) { return c >= 'a' && c <= 'z'; }
bool is_upper(unsigned char c) { return c >= 'A' && c <= 'Z'; }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

bool starts_with_at(std::string_view t, size_t i, const char* lit) {
  size_t n = std::strlen(lit);
  return i + n <= t.size() && t.compare(i, n, lit) == 0;
}

// Multi-byte punctuation the splitter knows, by UTF-8 spelling.
constexpr std::array<const char*, 1> kEllipsis = {"\xE2\x80\xA6"};                                   // …
constexpr std::array<const char*, 3> kCjkEnders = {"\xE3\x80\x82", "\xEF\xBC\x81", "\xEF\xBC\x9F"};  // 。！？
constexpr std::array<const char*, 7> kClosersMb = {"\xE2\x80\x9D", "\xE2\x80\x99", "\xC2\xBB",
                                                   "\xE2\x80\xBA",                                   // ” ’ » ›
                                                   "\xE3\x80\x8D", "\xE3\x80\x8F", "\xEF\xBC\x89"};  // 」 』 ）
constexpr std::array<const char*, 5> kOpenersMb = {"\xE2\x80\x9C", "\xE2\x80\x98", "\xC2\xAB", "\xC2\xBF",
                                                   "\xC2\xA1"};  // “ ‘ « ¿ ¡

template <size_t N>
size_t match_any(std::string_view t, size_t i, const std::array<const char*, N>& lits) {
  for (const char* lit : lits)
    if (starts_with_at(t, i, lit)) return std::strlen(lit);
  return 0;
}

// Length of a terminator at i (0 if none); *cjk is set for full-width enders,
// which end a sentence without a following space.
size_t terminator_at(std::string_view t, size_t i, bool* cjk) {
  unsigned char c = t[i];
  if (c == '.' || c == '!' || c == '?') return 1;
  if (size_t n = match_any(t, i, kEllipsis)) return n;
  if (size_t n = match_any(t, i, kCjkEnders)) {
    *cjk = true;
    return n;
  }
  return 0;
}

size_t closer_at(std::string_view t, size_t i) {
  unsigned char c = t[i];
  // Markdown emphasis and code spans close like quotes ("**Note.** Next").
  if (c == '"' || c == '\'' || c == ')' || c == ']' || c == '}' || c == '*' || c == '_' || c == '`') return 1;
  return match_any(t, i, kClosersMb);
}

size_t opener_at(std::string_view t, size_t i) {
  unsigned char c = t[i];
  if (c == '"' || c == '\'' || c == '(' || c == '[' || c == '{') return 1;
  return match_any(t, i, kOpenersMb);
}

size_t skip_space(std::string_view t, size_t i) {
  while (i < t.size() && is_space(t[i])) ++i;
  return i;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool in_list(const std::string& word, std::initializer_list<const char*> list) {
  for (const char* w : list)
    if (word == w) return true;
  return false;
}

// Abbreviations (lower case, without the final period) and how they behave.
// Titles never end a sentence; "internal" ones almost never do; "numbered" ones
// don't when a number follows; "ambiguous" ones end a sentence only when a
// typical sentence opener follows ("... at 5 p.m. The next day").
bool is_title(const std::string& w) {
  return in_list(w, {"mr",     "mrs", "ms",   "dr",   "prof", "rev",  "hon", "st",  "sen", "rep", "gov",
                     "gen",    "col", "capt", "lt",   "sgt",  "cpl",  "maj", "adm", "fr",  "mt",  "ft",
                     "messrs", "mme", "mlle", "pres", "supt", "insp", "det", "gen", "sra", "srta"});
}
bool is_internal(const std::string& w) {
  return in_list(
      w, {"e.g",   "i.e", "eg",   "ie",   "cf",  "vs",  "viz",  "approx", "ca",   "incl", "esp", "resp", "w.r.t",
          "a.k.a", "aka", "et",   "dept", "est", "min", "max",  "avg",    "ext",  "tel",  "fig", "figs", "eq",
          "eqs",   "no",  "nos",  "sect", "p.s", "vol", "vols", "ch",     "chap", "sec",  "art", "pp",   "p",
          "c",     "ref", "refs", "tab",  "op",  "pt",  "ed",   "eds",    "ver",  "v",    "nr",  "jan",  "feb",
          "mar",   "apr", "jun",  "jul",  "aug", "sep", "sept", "oct",    "nov",  "dec"});
}
// Internal ones that are also ordinary words ("No.", "Art.", "Min.") only stay
// internal when a number follows.
bool needs_number(const std::string& w) {
  return in_list(w, {"no",  "nos", "art", "min",  "max", "ch",  "sec", "tab",  "op",  "pt",  "ed",  "ver",
                     "est", "ref", "fig", "eq",   "vol", "tel", "ext", "jan",  "feb", "mar", "apr", "jun",
                     "jul", "aug", "sep", "sept", "oct", "nov", "dec", "dept", "c",   "sect"});
}
bool is_ambiguous(const std::string& w) {
  return in_list(w, {"etc",  "inc", "ltd",  "co",   "corp", "jr",   "sr",  "al",  "bros", "ave",
                     "blvd", "rd",  "univ", "assn", "govt", "intl", "mfg", "plc", "llc",  "gmbh"});
}
bool is_sentence_opener(const std::string& w) {
  return in_list(
      w,
      {"the",       "this",     "that",    "these",   "those",      "there",     "it",      "its",   "he",    "she",
       "they",      "we",       "you",     "i",       "but",        "and",       "so",      "then",  "in",    "on",
       "at",        "after",    "before",  "when",    "while",      "if",        "as",      "an",    "my",    "our",
       "their",     "his",      "her",     "what",    "why",        "how",       "who",     "where", "yes",   "no",
       "now",       "later",    "today",   "also",    "however",    "meanwhile", "finally", "all",   "one",   "some",
       "many",      "most",     "each",    "every",   "for",        "a",         "to",      "from",  "with",  "by",
       "she's",     "he's",     "it's",    "we're",   "please",     "thanks",    "note",    "see",   "do",    "don",
       "did",       "didn",     "can",     "won",     "let",        "is",        "are",     "was",   "were",  "nobody",
       "everybody", "everyone", "someone", "nothing", "everything", "something", "here",    "not",   "never", "maybe",
       "perhaps"});
}

// "U.S", "Ph.D", "a.m": pieces of one or two letters joined by periods.
bool is_dotted_acronym(std::string_view w) {
  if (w.find('.') == std::string_view::npos) return false;
  size_t piece = 0;
  for (unsigned char c : w) {
    if (c == '.') {
      if (piece == 0) return false;
      piece = 0;
    } else if (std::isalpha(c) && ++piece <= 2) {
      continue;
    } else {
      return false;
    }
  }
  return piece > 0;
}

bool is_roman(std::string_view w) {
  if (w.empty() || w.size() > 6) return false;
  for (char c : w)
    if (!c || !std::strchr("ivxlcdmIVXLCDM", c)) return false;
  return true;
}

// The word right after the whitespace at i (openers skipped), up to the next space.
std::string_view next_word(std::string_view t, size_t i) {
  i = skip_space(t, i);
  while (i < t.size())
    if (size_t n = opener_at(t, i))
      i += n;
    else
      break;
  size_t j = i;
  while (j < t.size() && !is_space(t[j])) ++j;
  return t.substr(i, j - i);
}

// Strips trailing punctuation and contractions so "The," "He's" or "I'll"
// compare as the words "the", "he", "i".
std::string bare_lower(std::string_view w) {
  size_t n = std::min(w.find('\''), w.find("\xE2\x80\x99"));
  if (n == std::string_view::npos) n = w.size();
  while (n > 0 && w[n - 1] && std::strchr(",;:.!?\"')", w[n - 1])) --n;
  return lower(w.substr(0, n));
}

// True when the token before `dot` is the first thing on its line (a list
// marker such as "1." or "iv." or "a.").
bool starts_line(std::string_view t, size_t token_begin) {
  size_t k = token_begin;
  while (k > 0 && (t[k - 1] == ' ' || t[k - 1] == '\t')) --k;
  return k == 0 || t[k - 1] == '\n';
}

// Decides a single "." followed by whitespace and an upper-case or other
// non-lower-case start.
bool period_ends_sentence(std::string_view t, size_t dot, std::string_view next) {
  size_t b = dot;
  while (b > 0 && !is_space(t[b - 1])) --b;
  while (b < dot && opener_at(t, b)) b += opener_at(t, b);
  std::string_view prev = t.substr(b, dot - b);
  if (prev.empty()) return true;
  std::string word = lower(prev);
  bool number_next = !next.empty() && (is_digit(next[0]) || is_roman(bare_lower(next)));
  bool list_marker =
      prev.size() <= 3 && (std::all_of(prev.begin(), prev.end(), is_digit) || is_roman(prev) || prev.size() == 1);
  if (list_marker && starts_line(t, b)) return false;
  if (prev.size() == 1 && is_upper(prev[0])) {
    // An initial ("J. R. R. Tolkien"), unless a sentence plainly starts next.
    std::string nw = bare_lower(next);
    bool next_initial = next.size() == 2 && next[1] == '.';
    return !next_initial && nw.size() > 1 && is_sentence_opener(nw);
  }
  if (is_title(word)) return false;
  if (is_internal(word)) return needs_number(word) && !number_next;
  if (is_ambiguous(word) || is_dotted_acronym(prev)) return is_sentence_opener(bare_lower(next));
  return true;
}

// Whether the terminator run [i, run_end) followed by closers up to `j` ends a
// sentence. `j` is at whitespace or at the end of the text.
bool ends_sentence(std::string_view t, size_t i, size_t run_end, size_t j) {
  size_t k = skip_space(t, j);
  if (k == t.size()) return true;
  if (std::memchr(t.data() + j, '\n', k - j)) return true;  // newlines are hard breaks
  std::string_view next = next_word(t, j);
  if (next.empty()) return true;
  if (is_lower(next[0])) return false;  // "... said he." / "e.g. this" / "wait... what"
  bool cjk = false;
  if (terminator_at(next, 0, &cjk)) return false;  // spaced dots ". . ."
  bool single_period = run_end - i == 1 && t[i] == '.';
  bool only_dots = true;  // "..." or "…", no ! or ?
  for (size_t p = i; p < run_end; p += terminator_at(t, p, &cjk)) only_dots = only_dots && t[p] != '!' && t[p] != '?';
  if (!single_period && only_dots) {
    // An ellipsis ends a sentence before a capital ("I waited... Then"), not before "42".
    unsigned char c0 = next[0];
    return is_upper(c0) || c0 >= 0x80;
  }
  if (!single_period) return true;
  return period_ends_sentence(t, i, next);
}

// After a boundary the segment swallows the whitespace that follows it.
void cut(std::vector<Span>& out, uint64_t& begin, size_t at) {
  out.push_back({begin, at});
  begin = at;
}

std::vector<Span> split_sentences(std::string_view t) {
  std::vector<Span> out;
  uint64_t begin = 0;
  bool content = false;  // the current segment holds something besides whitespace
  size_t i = 0;
  while (i < t.size()) {
    unsigned char c = t[i];
    if (c == '\n') {
      size_t j = skip_space(t, i);
      if (content && j < t.size()) {
        cut(out, begin, j);
        content = false;
      }
      i = j;
      continue;
    }
    if (c < 0x80 && c != '.' && c != '!' && c != '?') {  // fast path: most bytes end nothing
      content = content || !is_space(c);
      ++i;
      continue;
    }
    bool cjk = false;
    size_t n = terminator_at(t, i, &cjk);
    if (n == 0) {
      content = content || !is_space(c);
      ++i;
      continue;
    }
    content = true;
    size_t run_end = i + n;
    while (run_end < t.size() && (n = terminator_at(t, run_end, &cjk)) > 0) run_end += n;
    size_t j = run_end;
    while (j < t.size() && (n = closer_at(t, j)) > 0) j += n;
    bool at_gap = j == t.size() || is_space(t[j]);
    if ((cjk || at_gap) && ends_sentence(t, i, run_end, j)) {
      size_t after = skip_space(t, j);
      if (after < t.size()) {
        cut(out, begin, after);
        content = false;
      }
      i = after;
    } else {
      i = j;
    }
  }
  if (begin < t.size()) out.push_back({begin, t.size()});
  return out;
}

std::vector<Span> split_lines(std::string_view t) {
  std::vector<Span> out;
  uint64_t begin = 0;
  for (size_t i = 0; i < t.size(); ++i)
    if (t[i] == '\n') cut(out, begin, i + 1);
  if (begin < t.size()) out.push_back({begin, t.size()});
  return out;
}

// Paragraphs end at a blank line (two newlines with only whitespace between);
// the blank lines and any indentation after them stay with the paragraph above.
std::vector<Span> split_paragraphs(std::string_view t) {
  std::vector<Span> out;
  uint64_t begin = 0;
  bool content = false;
  size_t i = 0;
  while (i < t.size()) {
    if (!is_space(t[i])) {
      content = true;
      ++i;
      continue;
    }
    size_t j = skip_space(t, i);
    size_t newlines = std::count(t.begin() + i, t.begin() + j, '\n');
    if (content && newlines >= 2 && j < t.size()) {
      cut(out, begin, j);
      content = false;
    }
    i = j;
  }
  if (begin < t.size()) out.push_back({begin, t.size()});
  return out;
}

}  // namespace

std::vector<Span> segment_text(std::string_view text, SegmenterKind kind) {
  if (text.empty()) return {};
  switch (kind) {
    case SegmenterKind::Sentence:
      return split_sentences(text);
    case SegmenterKind::Line:
      return split_lines(text);
    case SegmenterKind::Paragraph:
      return split_paragraphs(text);
    case SegmenterKind::Document:
      break;
  }
  return {Span{0, text.size()}};
}

}  // namespace prealign
