// Lexicon matching: weighted words and phrases from a user file, matched on
// whole words after case folding and undoing common obfuscations (leetspeak,
// stretched letters, letters split by separators). Each normalised word keeps
// the byte range it came from, so a match maps back to the original text.
// Format and rules: docs/scoring.md "Lexicon scorer".
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace prealign {

// One normalised word: lower-case code points as UTF-8, leetspeak undone; the
// byte '\x01' stands for a "1" that may be an i or an l.
struct NormWord {
  std::string symbols;
  uint64_t begin = 0, end = 0;  // bytes of the original text it spans
  bool joins_next = false;      // only spaces/separators (at most 3 bytes) before the next word
  // For letters joined from a spelled-out run ("a i d i o t"): each letter's bytes,
  // so the matcher can also try the run without its first or last letter.
  std::vector<std::pair<uint64_t, uint64_t>> pieces;
};

// The words of `text` after normalisation, in order. Invalid UTF-8 bytes are separators.
std::vector<NormWord> normalize_words(std::string_view text);

// Simple lower-case mapping: ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic.
char32_t fold_case(char32_t c);

struct LexiconEntry {
  std::string term;
  double weight = 1.0;
};

class Lexicon {
 public:
  // JSON {"entries": [{"term": ..., "weight": ...}]} or TSV "term<TAB>weight";
  // errors name the file and line/entry.
  static Lexicon load(const std::string& path);
  static Lexicon from_entries(std::vector<LexiconEntry> entries, const std::string& where);

  struct Match {
    size_t entry;
    uint64_t begin, end;  // bytes of the original text
  };
  // Leftmost-longest, non-overlapping matches (longest = most words).
  std::vector<Match> find(std::string_view text) const;

  const std::vector<LexiconEntry>& entries() const { return entries_; }

 private:
  struct Term {
    std::vector<std::string> words;  // normalised symbols of each word
  };
  // Entries with the place each came from ("file:line"), for error messages.
  static Lexicon build(std::vector<std::pair<LexiconEntry, std::string>> items);
  static bool word_matches(const std::string& term_word, const std::string& text_word);
  size_t longest_match_at(const std::vector<NormWord>& words, const std::vector<std::string>& keys, size_t i,
                          size_t* n_words) const;
  bool match_spelled_part(const NormWord& word, Match* m) const;
  std::vector<LexiconEntry> entries_;
  std::vector<Term> terms_;
  std::unordered_map<std::string, std::vector<size_t>> by_first_key_;  // skeleton of word 0 -> terms
};

// The lookup key of a normalised word: i, l and the i/l wildcard become i, then
// runs of one letter collapse ("idiooot" and "idiot" share "idiot").
std::string word_key(const std::string& symbols);

}  // namespace prealign
