// Lexicon scorer: randomly obfuscated terms planted in text are found at their
// exact byte offsets, near misses are not, case folding agrees with the C
// library's towlower, scores are recomputed by hand, and bad lexicons and
// configs are Errors naming the file and line.
#include <gtest/gtest.h>

#include <clocale>
#include <cwctype>
#include <fstream>
#include <random>
#include <thread>

#include "core/error.hpp"
#include "core/files.hpp"
#include "score/lexicon.hpp"
#include "score/scorers.hpp"
#include "test_util.hpp"

using namespace prealign;

namespace {

std::string write(const std::string& dir, const std::string& name, const std::string& body) {
  std::string path = dir + "/" + name;
  std::ofstream(path) << body;
  return path;
}

// An obfuscated spelling of an ASCII lower-case word: random case, leetspeak,
// stretched letters, or letters split by one repeated separator.
std::string obfuscate(const std::string& word, std::mt19937& rng) {
  static const std::map<char, std::vector<std::string>> leet = {
      {'a', {"4", "@"}}, {'e', {"3"}}, {'i', {"1"}}, {'l', {"1"}}, {'o', {"0"}}, {'s', {"5", "$"}}, {'t', {"7"}}};
  int style = rng() % 3;  // 0: leet + case, 1: stretched, 2: spelled out
  const char* seps[] = {".", "-", " ", "_", "*"};
  std::string sep = seps[rng() % 5], out;
  for (size_t i = 0; i < word.size(); ++i) {
    char c = word[i];
    std::string piece(1, rng() % 2 ? static_cast<char>(std::toupper(c)) : c);
    auto it = leet.find(c);
    // Leet needs a letter left in the word, and "@"/"$" cannot open it (a mention / a price).
    if (style == 0 && it != leet.end() && rng() % 2 && i > 0) piece = it->second[rng() % it->second.size()];
    if (style == 1) piece = std::string(1 + rng() % 3, piece[0]);
    if (style == 2 && i > 0) out += sep;
    out += piece;
  }
  return out;
}

}  // namespace

TEST(LexiconNormalize, WordsMapBackToTheirBytes) {
  std::string text = "Caf\xC3\xA9 1d10t, i.d.i.o.t! don't";
  auto words = normalize_words(text);
  ASSERT_EQ(words.size(), 4u);
  EXPECT_EQ(words[0].symbols, "caf\xC3\xA9");
  EXPECT_EQ(text.substr(words[0].begin, words[0].end - words[0].begin), "Caf\xC3\xA9");
  EXPECT_EQ(words[1].symbols, std::string("\x01") + "d" + "\x01" + "ot");  // 1 stays an i-or-l wildcard
  EXPECT_EQ(text.substr(words[2].begin, words[2].end - words[2].begin), "i.d.i.o.t");
  EXPECT_EQ(words[2].symbols, "idiot");
  EXPECT_EQ(words[3].symbols, "dont");
  EXPECT_FALSE(words[1].joins_next);  // ", " holds a comma
  EXPECT_EQ(word_key("idiooot"), word_key("idiot"));
  EXPECT_EQ(word_key("hello"), word_key(std::string("he\x01\x01o")));
  // Numbers without letters are not leetspeak.
  EXPECT_EQ(normalize_words("in 2024")[1].symbols, "2024");
}

TEST(LexiconNormalize, CaseFoldingAgreesWithTowlower) {
  ASSERT_NE(std::setlocale(LC_CTYPE, "C.UTF-8"), nullptr);
  const std::pair<char32_t, char32_t> ranges[] = {
      {0x41, 0x5A}, {0xC0, 0xDE}, {0x100, 0x17F}, {0x391, 0x3A9}, {0x400, 0x42F}};
  int checked = 0;
  for (auto [lo, hi] : ranges)
    for (char32_t c = lo; c <= hi; ++c) {
      if (c == 0x3A2) continue;  // unassigned
      EXPECT_EQ(fold_case(c), static_cast<char32_t>(std::towlower(static_cast<wint_t>(c)))) << std::hex << c;
      ++checked;
    }
  EXPECT_GT(checked, 250);
  std::setlocale(LC_CTYPE, "C");
}

TEST(LexiconMatch, FindsRandomObfuscationsAtTheirOffsets) {
  auto lex = Lexicon::from_entries({{"idiot", 1}, {"moron", 1}, {"stupid", 1}, {"loser", 1}, {"jerk", 1}}, "t");
  std::mt19937 rng(17);
  const std::vector<std::string> terms = {"idiot", "moron", "stupid", "loser", "jerk"};
  const std::vector<std::string> fillers = {"well", "you", "are", "a", "real", "today", "and", "then", "42"};
  for (int round = 0; round < 500; ++round) {
    std::string before, after;
    for (int k = rng() % 4; k > 0; --k) before += fillers[rng() % fillers.size()] + " ";
    for (int k = rng() % 4; k > 0; --k) after += " " + fillers[rng() % fillers.size()];
    size_t t = rng() % terms.size();
    std::string word = obfuscate(terms[t], rng);
    std::string text = before + word + (rng() % 2 ? "!" : "") + after;
    auto found = lex.find(text);
    ASSERT_EQ(found.size(), 1u) << text;
    EXPECT_EQ(lex.entries()[found[0].entry].term, terms[t]) << text;
    EXPECT_EQ(found[0].begin, before.size()) << text;
    EXPECT_EQ(found[0].end, before.size() + word.size()) << text;
  }
}

TEST(LexiconMatch, WholeWordsOnlyAndLettersNeverShrink) {
  auto lex = Lexicon::from_entries({{"idiot", 1}, {"ass", 1}, {"shut up", 0.5}}, "t");
  for (const char* clean : {"idiotic", "kidiot", "idot", "as good as", "class", "assassin", "shut, up", "shut\nup",
                            "shutup", "@ss is a handle"})
    EXPECT_TRUE(lex.find(clean).empty()) << clean;
  for (const char* bad : {"IDIOT", "a$$", "aaasss", "shut  up", "shut-up", "SHUT UP", "idiot's", "i d i o t"})
    EXPECT_EQ(lex.find(bad).size(), 1u) << bad;
}

TEST(LexiconMatch, LongestPhraseWinsAndMatchesDoNotOverlap) {
  auto lex = Lexicon::from_entries({{"stupid", 0.6}, {"idiot", 1.0}, {"stupid idiot", 2.0}}, "t");
  std::string text = "what a stupid idiot, stupid!";
  auto found = lex.find(text);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(text.substr(found[0].begin, found[0].end - found[0].begin), "stupid idiot");
  EXPECT_EQ(lex.entries()[found[1].entry].term, "stupid");
  EXPECT_EQ(found[1].begin, 21u);
}

TEST(LexiconScorer, PerCharAndMaxWeightRecomputedByHand) {
  json entries = json::array({{{"term", "idiot"}, {"weight", 1.0}}, {{"term", "dumb"}, {"weight", 0.5}}});
  auto per_char = make_lexicon_scorer(json{{"type", "lexicon"}, {"name", "toxicity"}, {"entries", entries}}, "cfg");
  auto max_w = make_lexicon_scorer(json{{"entries", entries}, {"mode", "max_weight"}, {"details", true}}, "cfg");
  EXPECT_EQ(per_char->categories(), std::vector<std::string>{"toxicity"});
  EXPECT_EQ(max_w->name(), "lexicon");
  std::string s0 =
      "\xC3\x9C"
      "ber dumb 1d10t. ";  // Ü is 2 bytes: 16 code points
  std::string s1 = "All fine here.\n";
  std::string s2 = "d.u.m.b";
  std::string text = s0 + s1 + s2;
  std::vector<Span> segs = {{0, s0.size()}, {s0.size(), s0.size() + s1.size()}, {s0.size() + s1.size(), text.size()}};
  auto a = per_char->score(text, segs), b = max_w->score(text, segs);
  EXPECT_FLOAT_EQ(a.scores[0][0], 1.5f / (s0.size() - 1));
  EXPECT_FLOAT_EQ(a.scores[1][0], 0.0f);
  EXPECT_FLOAT_EQ(a.scores[2][0], 0.5f / 7);
  EXPECT_FLOAT_EQ(b.scores[0][0], 1.0f);
  EXPECT_FLOAT_EQ(b.scores[1][0], 0.0f);
  EXPECT_FLOAT_EQ(b.scores[2][0], 0.5f);
  ASSERT_EQ(b.details.size(), 3u);
  EXPECT_EQ(b.details[1].at("term"), "idiot");
  size_t st = b.details[1].at("start"), en = b.details[1].at("end");
  EXPECT_EQ(text.substr(st, en - st), "1d10t");
  EXPECT_EQ(b.details[2].at("segment"), 2);
  EXPECT_THROW(per_char->score(text, {{5, 2}}), ScoreError);
}

TEST(LexiconFiles, JsonAndTsvLoadTheSameLexicon) {
  std::string dir = prealign::testing::temp_dir();
  std::string js = write(dir, "lex.json", R"({"entries": [{"term": "idiot", "weight": 1.5}, {"term": "shut up"}]})");
  std::string tsv = write(dir, "lex.tsv", "# rude words\nidiot\t1.5\n\nshut up\n");
  Lexicon a = Lexicon::load(js), b = Lexicon::load(tsv);
  ASSERT_EQ(a.entries().size(), 2u);
  ASSERT_EQ(b.entries().size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(a.entries()[i].term, b.entries()[i].term);
    EXPECT_DOUBLE_EQ(a.entries()[i].weight, b.entries()[i].weight);
  }
  EXPECT_DOUBLE_EQ(b.entries()[1].weight, 1.0);
  auto scorer = make_lexicon_scorer(json{{"file", tsv}}, "cfg");
  std::string text = "SHUT UP, idiot";
  EXPECT_FLOAT_EQ(scorer->score(text, {{0, text.size()}}).scores[0][0], 2.5f / text.size());  // 1.0 + 1.5
}

TEST(LexiconFiles, ShippedExampleLoads) {
  Lexicon lex = Lexicon::load(prealign::testing::source_path("configs/lexicons/example.json"));
  EXPECT_GE(lex.entries().size(), 10u);
  EXPECT_EQ(lex.find("Sh*t up? no: get lost, you 1d10t").size(), 2u);  // "get lost", "1d10t"
}

TEST(LexiconFiles, BadLexiconsAreErrorsNamingTheLine) {
  std::string dir = prealign::testing::temp_dir();
  auto expect_error = [](const std::string& path, const std::string& where_part) {
    try {
      Lexicon::load(path);
      ADD_FAILURE() << "loaded " << path;
    } catch (const Error& e) {
      EXPECT_NE(e.where().find(where_part), std::string::npos) << e.where() << " / " << e.what();
    }
  };
  expect_error(write(dir, "w.tsv", "idiot\t1\nmoron\tlots\n"), "w.tsv:2");
  expect_error(write(dir, "n.tsv", "idiot\t-1\n"), "n.tsv:1");
  expect_error(write(dir, "i.tsv", "idiot\tinf\n"), "i.tsv:1");
  expect_error(write(dir, "d.tsv", "idiot\t1\nIDIOT\t2\n"), "d.tsv:2");
  expect_error(write(dir, "p.tsv", "!!!\t1\n"), "p.tsv:1");
  expect_error(write(dir, "e.tsv", "# only a comment\n"), "e.tsv");
  expect_error(write(dir, "j.json", R"({"entries": [{"term": "a"}, {"weight": 1}]})"), "entries[1]");
  expect_error(write(dir, "k.json", R"({"entries": [{"term": "a", "weight": "x"}]})"), "entries[0]");
  expect_error(write(dir, "l.json", R"({"terms": []})"), "l.json");
  expect_error(write(dir, "m.json", "{\"entries\": [,]}"), "m.json");
  expect_error(write(dir, "u.tsv", "caf\xC3\n"), "u.tsv");
  expect_error(dir + "/missing.tsv", "missing.tsv");
}

TEST(LexiconScorer, BadConfigsAreErrors) {
  json entries = json::array({{{"term", "idiot"}}});
  for (const json& cfg :
       {json{{"entries", entries}, {"mode", "sum"}}, json{{"entries", entries}, {"file", "x"}}, json::object(),
        json{{"entries", entries}, {"colour", "red"}}, json{{"entries", json::array()}}, json{{"entries", "idiot"}},
        json{{"entries", entries}, {"type", "pii"}}, json{{"file", "no/such/lexicon.json"}}})
    EXPECT_THROW(make_lexicon_scorer(cfg, "scorers.json:2"), Error) << cfg.dump();
}

TEST(LexiconScorer, HostileTextAndThreads) {
  auto scorer = make_lexicon_scorer(
      json{{"file", prealign::testing::source_path("configs/lexicons/example.json")}, {"details", true}}, "cfg");
  std::mt19937 rng(23);
  const std::string atoms[] = {"i",
                               "d",
                               "o",
                               "t",
                               "1",
                               "0",
                               ".",
                               " ",
                               "-",
                               "@",
                               "$",
                               "'",
                               "\xC3",
                               "\xA9",
                               std::string(1, '\0'),
                               "\xE2\x80\x99",
                               "\n",
                               "IDIOT",
                               "moron"};
  std::vector<std::string> docs;
  for (int i = 0; i < 200; ++i) {
    std::string t;
    for (size_t n = 1 + rng() % 200; n > 0; --n) t += atoms[rng() % 19];
    docs.push_back(t);
  }
  std::vector<ScoreResult> expected;
  for (auto& d : docs) {
    expected.push_back(scorer->score(d, {{0, d.size()}}));
    uint64_t prev_end = 0;
    for (const json& m : expected.back().details) {
      EXPECT_GE(m.at("start").get<uint64_t>(), prev_end);
      EXPECT_LE(m.at("end").get<uint64_t>(), d.size());
      prev_end = m.at("end");
    }
  }
  std::vector<std::vector<float>> got(docs.size());
  std::thread th([&, clone = scorer->clone()] {
    for (size_t i = 0; i < docs.size(); ++i) got[i] = clone->score(docs[i], {{0, docs[i].size()}}).scores[0];
  });
  th.join();
  for (size_t i = 0; i < docs.size(); ++i) EXPECT_EQ(got[i], expected[i].scores[0]);
}
