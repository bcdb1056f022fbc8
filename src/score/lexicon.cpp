// Lexicon loading and matching, and the lexicon scorer. Matching is on
// normalised words (lexicon_text.cpp): a hash of each word's skeleton finds
// candidate terms, then a small DP checks the letters, letting each letter of
// the term stretch over repeats in the text ("idiooot") but never shrink.
#include "score/lexicon.hpp"

#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/json_io.hpp"
#include "core/lines.hpp"
#include "core/paths.hpp"
#include "core/utf8.hpp"
#include "score/scorer.hpp"
#include "score/scorers.hpp"

namespace prealign {

namespace {

constexpr size_t kMaxWordSymbols = 256;  // longer "words" are not compared letter by letter

std::vector<char32_t> code_points(const std::string& s) {
  std::vector<char32_t> out;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = s[i];
    size_t len = utf8_sequence_length(c);
    char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < len && i + k < s.size(); ++k) cp = (cp << 6) | (s[i + k] & 0x3F);
    out.push_back(cp);
    i += len;
  }
  return out;
}

bool symbol_fits(char32_t text, char32_t term) {
  if (text == term) return true;
  auto il = [](char32_t c) { return c == 'i' || c == 'l' || c == 1; };
  return (text == 1 && il(term)) || (term == 1 && il(text));
}

double parse_weight(const std::string& s, const std::string& where) {
  char* end = nullptr;
  double w = std::strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !std::isfinite(w) || w < 0)
    fail(where, "weight \"" + s + "\" is not a finite number >= 0", "higher weight = worse; e.g. 1.0");
  return w;
}

std::vector<std::pair<LexiconEntry, std::string>> read_json_lexicon(const std::string& path) {
  json j = read_json_file(path);
  if (!j.is_object() || !j.contains("entries") || !j["entries"].is_array())
    fail(path, "a JSON lexicon is an object with an \"entries\" array",
         "{\"entries\": [{\"term\": \"idiot\", \"weight\": 1.0}]}");
  std::vector<std::pair<LexiconEntry, std::string>> out;
  for (size_t i = 0; i < j["entries"].size(); ++i) {
    std::string where = path + ": entries[" + std::to_string(i) + "]";
    const json& e = j["entries"][i];
    LexiconEntry entry;
    entry.term = json_required<std::string>(e, "term", where);
    entry.weight = json_optional<double>(e, "weight", 1.0, where);
    if (!std::isfinite(entry.weight) || entry.weight < 0) fail(where, "weight must be a finite number >= 0");
    out.push_back({entry, where});
  }
  return out;
}

std::vector<std::pair<LexiconEntry, std::string>> read_tsv_lexicon(const std::string& path) {
  LineReader reader(path);
  std::vector<std::pair<LexiconEntry, std::string>> out;
  std::string line;
  while (reader.next(line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos || line[0] == '#') continue;
    LexiconEntry entry;
    size_t tab = line.find('\t');
    entry.term = line.substr(0, tab);
    if (tab != std::string::npos) entry.weight = parse_weight(line.substr(tab + 1), reader.where());
    out.push_back({entry, reader.where()});
  }
  return out;
}

}  // namespace

Lexicon Lexicon::load(const std::string& path) {
  std::string text = read_text_file(path);
  if (!is_valid_utf8(text)) fail(path, "the lexicon is not valid UTF-8");
  size_t first = text.find_first_not_of(" \t\r\n");
  bool is_json = first != std::string::npos && text[first] == '{';
  auto items = is_json ? read_json_lexicon(path) : read_tsv_lexicon(path);
  if (items.empty()) fail(path, "the lexicon has no entries", "add lines \"term<TAB>weight\"");
  return build(std::move(items));
}

Lexicon Lexicon::from_entries(std::vector<LexiconEntry> entries, const std::string& where) {
  if (entries.empty()) fail(where, "the lexicon has no entries");
  std::vector<std::pair<LexiconEntry, std::string>> items;
  for (size_t i = 0; i < entries.size(); ++i) {
    std::string at = where + ": entries[" + std::to_string(i) + "]";
    if (!std::isfinite(entries[i].weight) || entries[i].weight < 0) fail(at, "weight must be a finite number >= 0");
    items.push_back({entries[i], at});
  }
  return build(std::move(items));
}

Lexicon Lexicon::build(std::vector<std::pair<LexiconEntry, std::string>> items) {
  Lexicon lex;
  std::map<std::string, std::string> seen;  // normalised term -> where it was first given
  for (auto& [entry, where] : items) {
    Term term;
    std::string norm;
    for (NormWord& w : normalize_words(entry.term)) {
      norm += (norm.empty() ? "" : " ") + w.symbols;
      term.words.push_back(std::move(w.symbols));
    }
    if (term.words.empty()) fail(where, "term \"" + entry.term + "\" has no letters or digits");
    auto [it, fresh] = seen.emplace(norm, where);
    if (!fresh)
      fail(where, "term \"" + entry.term + "\" is the same as the term at " + it->second + " after normalisation",
           "keep one of them");
    lex.by_first_key_[word_key(term.words[0])].push_back(lex.terms_.size());
    lex.terms_.push_back(std::move(term));
    lex.entries_.push_back(entry);
  }
  return lex;
}

// Can `text_word` be read as `term_word` with each letter of the term stretched
// over one or more equal letters of the text? (The i/l wildcard fits i or l.)
bool Lexicon::word_matches(const std::string& term_word, const std::string& text_word) {
  std::vector<char32_t> term = code_points(term_word), text = code_points(text_word);
  if (text.size() > kMaxWordSymbols || text.size() < term.size()) return false;
  // Runs of the term: (letter, minimum count).
  std::vector<std::pair<char32_t, size_t>> runs;
  for (char32_t c : term) {
    if (!runs.empty() && runs.back().first == c)
      ++runs.back().second;
    else
      runs.push_back({c, 1});
  }
  // reach[j]: the runs so far can consume exactly the first j text symbols.
  std::vector<char> reach(text.size() + 1, 0), next(text.size() + 1, 0);
  reach[0] = 1;
  for (auto [letter, need] : runs) {
    std::fill(next.begin(), next.end(), 0);
    for (size_t j = 0; j < text.size(); ++j) {
      if (!reach[j]) continue;
      for (size_t k = j; k < text.size() && symbol_fits(text[k], letter); ++k)
        if (k + 1 - j >= need) next[k + 1] = 1;
    }
    reach.swap(next);
  }
  return reach[text.size()];
}

// The best term starting at word i: most words, then highest weight. Returns
// the entry index or SIZE_MAX.
size_t Lexicon::longest_match_at(const std::vector<NormWord>& words, const std::vector<std::string>& keys, size_t i,
                                 size_t* n_words) const {
  auto it = by_first_key_.find(keys[i]);
  if (it == by_first_key_.end()) return SIZE_MAX;
  size_t best = SIZE_MAX, best_len = 0;
  for (size_t t : it->second) {
    const Term& term = terms_[t];
    size_t len = term.words.size();
    if (len < best_len || i + len > words.size()) continue;
    bool ok = true;
    for (size_t k = 0; k < len && ok; ++k) {
      if (k > 0 && (!words[i + k - 1].joins_next || keys[i + k] != word_key(term.words[k]))) ok = false;
      ok = ok && word_matches(term.words[k], words[i + k].symbols);
    }
    if (!ok) continue;
    if (best == SIZE_MAX || len > best_len || entries_[t].weight > entries_[best].weight) {
      best = t;
      best_len = len;
    }
  }
  *n_words = best_len;
  return best;
}

// "what a i d i o t" joins to "aidiot": try the letters without the first
// and/or the last one (single-word terms only).
bool Lexicon::match_spelled_part(const NormWord& word, Match* m) const {
  std::vector<char32_t> cps = code_points(word.symbols);
  if (word.pieces.size() != cps.size() || cps.size() < 4) return false;
  for (size_t drop_front = 0; drop_front <= 1; ++drop_front)
    for (size_t drop_back = 0; drop_back <= 1; ++drop_back) {
      if (drop_front + drop_back == 0) continue;
      NormWord part;
      for (size_t k = drop_front; k + drop_back < cps.size(); ++k) part.symbols += utf8_encode(cps[k]);
      std::vector<NormWord> one = {part};
      std::vector<std::string> key = {word_key(part.symbols)};
      size_t len = 0, t = longest_match_at(one, key, 0, &len);
      if (t == SIZE_MAX) continue;
      *m = {t, word.pieces[drop_front].first, word.pieces[cps.size() - 1 - drop_back].second};
      return true;
    }
  return false;
}

std::vector<Lexicon::Match> Lexicon::find(std::string_view text) const {
  std::vector<NormWord> words = normalize_words(text);
  std::vector<std::string> keys;
  keys.reserve(words.size());
  for (const NormWord& w : words) keys.push_back(word_key(w.symbols));
  std::vector<Match> out;
  for (size_t i = 0; i < words.size();) {
    size_t len = 0, t = longest_match_at(words, keys, i, &len);
    if (t == SIZE_MAX) {
      Match m;
      if (!words[i].pieces.empty() && match_spelled_part(words[i], &m)) out.push_back(m);
      ++i;
      continue;
    }
    out.push_back({t, words[i].begin, words[i + len - 1].end});
    i += len;
  }
  return out;
}

namespace {

enum class LexiconMode { PerChar, MaxWeight };

class LexiconScorer : public Scorer {
 public:
  LexiconScorer(std::string name, std::shared_ptr<const Lexicon> lex, LexiconMode mode, bool details)
      : name_(std::move(name)), lex_(std::move(lex)), mode_(mode), details_(details) {}

  std::string name() const override { return name_; }
  std::vector<std::string> categories() const override { return {name_}; }

  ScoreResult score(std::string_view text, const std::vector<Span>& segments) override {
    if (!spans_valid(segments, text.size())) throw ScoreError("segments do not fit the document");
    ScoreResult r;
    r.scores.assign(segments.size(), std::vector<float>{0.0f});
    if (segments.empty()) return r;
    std::vector<double> sum(segments.size(), 0.0), max(segments.size(), 0.0);
    for (const Lexicon::Match& m : lex_->find(text)) {
      size_t s = segment_index(segments, m.begin);
      if (m.begin < segments[s].begin || m.begin >= segments[s].end) continue;
      double w = lex_->entries()[m.entry].weight;
      sum[s] += w;
      max[s] = std::max(max[s], w);
      if (details_)
        r.details.push_back({{"term", lex_->entries()[m.entry].term},
                             {"weight", w},
                             {"start", m.begin},
                             {"end", m.end},
                             {"segment", s}});
    }
    for (size_t s = 0; s < segments.size(); ++s) {
      if (mode_ == LexiconMode::MaxWeight) {
        r.scores[s][0] = static_cast<float>(max[s]);
      } else {
        size_t chars = utf8_length(text.substr(segments[s].begin, segments[s].end - segments[s].begin));
        if (chars > 0) r.scores[s][0] = static_cast<float>(sum[s] / double(chars));
      }
    }
    return r;
  }

  // The lexicon is immutable and shared; matching keeps no state.
  std::unique_ptr<Scorer> clone() const override { return std::make_unique<LexiconScorer>(*this); }

 private:
  std::string name_;
  std::shared_ptr<const Lexicon> lex_;
  LexiconMode mode_;
  bool details_;
};

}  // namespace

std::unique_ptr<Scorer> make_lexicon_scorer(const json& config, const std::string& where) {
  if (!config.is_object()) fail(where, "a scorer config must be a JSON object");
  for (auto it = config.begin(); it != config.end(); ++it)
    if (it.key() != "type" && it.key() != "name" && it.key() != "file" && it.key() != "entries" && it.key() != "mode" &&
        it.key() != "details")
      fail(where, "unknown field \"" + it.key() + "\" in a lexicon scorer config",
           "known fields: type, name, file, entries, mode, details");
  std::string type = json_optional<std::string>(config, "type", "lexicon", where);
  if (type != "lexicon") fail(where, "field \"type\" is \"" + type + "\", expected \"lexicon\"");
  std::string name = json_optional<std::string>(config, "name", "lexicon", where);
  if (name.empty()) fail(where, "field \"name\" is empty", "give the score category a name, e.g. \"toxicity\"");
  std::string mode_name = json_optional<std::string>(config, "mode", "per_char", where);
  LexiconMode mode;
  if (mode_name == "per_char")
    mode = LexiconMode::PerChar;
  else if (mode_name == "max_weight")
    mode = LexiconMode::MaxWeight;
  else
    fail(where, "field \"mode\" is \"" + mode_name + "\"", "use \"per_char\" or \"max_weight\"");
  bool details = json_optional<bool>(config, "details", false, where);
  if (config.contains("file") == config.contains("entries"))
    fail(where, "a lexicon scorer needs exactly one of \"file\" and \"entries\"",
         "e.g. \"file\": \"configs/lexicons/example.json\"");
  std::shared_ptr<const Lexicon> lex;
  if (config.contains("file")) {
    std::string file = json_required<std::string>(config, "file", where);
    if (!file_exists(file)) file = find_shipped_file(file);  // Error listing the places tried
    lex = std::make_shared<const Lexicon>(Lexicon::load(file));
  } else {
    if (!config["entries"].is_array()) fail(where, "field \"entries\" must be an array of {term, weight}");
    std::vector<LexiconEntry> entries;
    for (size_t i = 0; i < config["entries"].size(); ++i) {
      std::string at = where + ": entries[" + std::to_string(i) + "]";
      const json& e = config["entries"][i];
      entries.push_back({json_required<std::string>(e, "term", at), json_optional<double>(e, "weight", 1.0, at)});
    }
    lex = std::make_shared<const Lexicon>(Lexicon::from_entries(std::move(entries), where));
  }
  return std::make_unique<LexiconScorer>(name, std::move(lex), mode, details);
}

}  // namespace prealign
