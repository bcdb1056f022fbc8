// The policy grammar checker against hand-made documents: each violation kind
// with its exact byte offset, and statistics counted by hand.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/files.hpp"
#include "corpus/lint.hpp"
#include "test_util.hpp"

namespace prealign {
namespace {

using testing::source_path;

struct Linted {
  std::vector<LintViolation> violations;
  ModeStats stats;
};

const ModeGrammar& ai_mode() {
  static const ModeGrammar g = ModeGrammar::load(source_path("configs/policies/ai_mode.json"));
  return g;
}
const Tagset& ai_tags() {
  static const Tagset t = Tagset::load(source_path("configs/tagsets/ai_modes.json"));
  return t;
}

Linted lint(const std::string& text, LintOptions o = {}) {
  Linted r;
  lint_text(ai_mode(), ai_tags(), text, "d", o, r.violations, r.stats);
  return r;
}

TEST(ModeGrammar, ReadsTheShippedPolicy) {
  const ModeGrammar& g = ai_mode();
  ASSERT_EQ(g.states.size(), 3u);
  EXPECT_EQ(g.states[static_cast<size_t>(g.initial)], "human");
  EXPECT_EQ(g.start_tags, std::vector<std::string>{"<AI>"});
  EXPECT_EQ(g.stop_tags.count("</AI>"), 1u);
  const int ai = g.state_index("ai"), quoted = g.state_index("quoted");
  EXPECT_EQ(g.allow[static_cast<size_t>(ai)].at("<AI_quoting_human>"), quoted);
  EXPECT_FALSE(g.end_allowed[static_cast<size_t>(ai)]);
  EXPECT_TRUE(g.end_allowed[static_cast<size_t>(g.initial)]);
  EXPECT_THROW(ModeGrammar::from_policy_json(json::parse(R"({"states": {"a": {"allow": {"<x>": "b"}}}})"), "p"),
               Error);
  // found by fuzz/policy_json: a state that is not an object was a json::type_error ("internal error")
  try {
    ModeGrammar::from_policy_json(json::parse(R"({"initial_state": "a", "states": {"a": 5}})"), "p.json");
    ADD_FAILURE() << "accepted a state that is a number";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("p.json: state \"a\""), std::string::npos) << e.what();
  }
}

TEST(Lint, CleanDocumentHasNoViolationsAndExactStatistics) {
  //                 0         1         2         3         4         5         6
  const std::string text =
      "Joe stole a purse. <AI>That was wrong. He said \"<AI_quoting_human>The way to pick a lock is…"
      "</AI_quoting_human>\" and went on.</AI> The end.";
  Linted r = lint(text);
  EXPECT_TRUE(r.violations.empty());
  EXPECT_EQ(r.stats.documents, 1u);
  EXPECT_EQ(r.stats.bytes["human"], std::string("Joe stole a purse. ").size() + std::string(" The end.").size());
  EXPECT_EQ(r.stats.bytes["ai"], std::string("That was wrong. He said \"").size() + std::string("\" and went on.").size());
  EXPECT_EQ(r.stats.bytes["quoted"], std::string("The way to pick a lock is…").size());
  EXPECT_EQ(r.stats.quotes, 1u);
  EXPECT_EQ(r.stats.quotes_cut_short, 1u);
  EXPECT_EQ(r.stats.documents_with_ai, 1u);
  EXPECT_EQ(r.stats.documents_with_commentary, 1u);
  EXPECT_EQ(r.stats.tags["<AI>"], 1u);
  EXPECT_EQ(r.stats.tags["</AI_quoting_human>"], 1u);
}

TEST(Lint, AiTextWithoutHumanTextBeforeItIsNotCommentary) {
  Linted r = lint("  <AI>Hello. \"<AI_quoting_human>hi</AI_quoting_human>\"</AI>");
  EXPECT_TRUE(r.violations.empty());
  EXPECT_EQ(r.stats.documents_with_ai, 1u);
  EXPECT_EQ(r.stats.documents_with_commentary, 0u);
  EXPECT_EQ(r.stats.quotes, 1u);
  EXPECT_EQ(r.stats.quotes_cut_short, 0u);
}

TEST(Lint, EachIllegalTransitionAtItsOffset) {
  struct Case {
    std::string text;
    uint64_t offset;
    std::string needle;
  };
  const std::vector<Case> cases = {
      {"ab<AI>cd<AI>ef</AI>", 8, "<AI> in state \"ai\""},                                   // nested <AI>
      {"ab<AI_quoting_human>x</AI_quoting_human>", 2, "<AI_quoting_human> in state \"human\""},  // quote outside AI
      {"<AI>a<AI_quoting_human>b</AI>", 24, "</AI> in state \"quoted\""},                    // AI closed mid-quote
      {"<AI>a</AI_quoting_human></AI>", 5, "</AI_quoting_human> in state \"ai\""},           // stray close
      {"x</AI>", 1, "</AI> in state \"human\""},                                             // close without open
  };
  for (const Case& c : cases) {
    Linted r = lint(c.text);
    ASSERT_GE(r.violations.size(), 1u) << c.text;
    EXPECT_EQ(r.violations[0].kind, "illegal_tag") << c.text;
    EXPECT_EQ(r.violations[0].offset, c.offset) << c.text;
    EXPECT_NE(r.violations[0].message.find(c.needle), std::string::npos) << r.violations[0].message;
    EXPECT_EQ(r.violations[0].document, "d");
  }
}

TEST(Lint, UnclosedModesAtTheEnd) {
  Linted ai = lint("hi <AI>open");
  ASSERT_EQ(ai.violations.size(), 1u);
  EXPECT_EQ(ai.violations[0].kind, "unclosed");
  EXPECT_EQ(ai.violations[0].offset, 11u);  // end of the text
  EXPECT_NE(ai.violations[0].message.find("state \"ai\" (opened at byte 3)"), std::string::npos);

  Linted quoted = lint("<AI>a<AI_quoting_human>b");
  ASSERT_EQ(quoted.violations.size(), 1u);
  EXPECT_NE(quoted.violations[0].message.find("\"quoted\""), std::string::npos);

  LintOptions truncated;
  truncated.require_end = false;
  EXPECT_TRUE(lint("hi <AI>open", truncated).violations.empty());
}

TEST(Lint, NearMissTagsArePlainTextAndReported) {
  Linted r = lint("<AI>fine</AI> but <ai>x< /AI > and </Ai_Quoting_Human> and <AIDS> and a<b>c");
  ASSERT_EQ(r.violations.size(), 3u);
  for (const auto& v : r.violations) EXPECT_EQ(v.kind, "malformed_tag");
  EXPECT_EQ(r.violations[0].offset, 18u);
  EXPECT_EQ(r.violations[1].offset, 23u);
  EXPECT_EQ(r.stats.violations_by_kind["malformed_tag"], 3u);
  LintOptions off;
  off.near_misses = false;
  EXPECT_TRUE(lint("<ai>", off).violations.empty());
}

TEST(Lint, OneMistakeIsOneViolation) {
  // after the illegal <AI> the walk stays in AI mode, so the rest is clean
  Linted r = lint("<AI>a<AI>b</AI>c");
  ASSERT_EQ(r.violations.size(), 1u);
  EXPECT_EQ(r.stats.documents_with_violations, 1u);
}

// The recovery rule of docs/modes.md, case by case: the one violation, where it
// is, and the state the walk continues in (seen through the bytes counted per state).
TEST(Lint, RecoveryAfterAnIllegalTag) {
  struct Case {
    std::string text;
    uint64_t offset;      // of the one violation
    std::string note;     // what the message says the repair was
    uint64_t human_bytes; // text counted in state "human" afterwards
  };
  const std::vector<Case> cases = {
      // a nested open and its close: the close pairing with the ignored <AI> is not a second mistake
      {"<AI>Hello <AI>nested</AI></AI>", 10, "ignored, and so is the </AI>", 0},
      {"ab<AI_quoting_human>x</AI_quoting_human>", 2, "ignored, and so is the </AI_quoting_human>", 3},
      // </AI> inside a quote ends the quote too: the forgotten </AI_quoting_human> is the one mistake
      {"<AI>a<AI_quoting_human>b</AI>cd", 24, "taken as closing \"quoted\" too", 2},
      // a nested quote, closed: one mistake
      {"<AI>a<AI_quoting_human>b<AI_quoting_human>c</AI_quoting_human>d</AI>", 24, "ignored", 0},
      {"x</AI>", 1, "allowed here: <AI>)", 1},  // a stray close: nothing to repair
  };
  for (const Case& c : cases) {
    Linted r = lint(c.text);
    ASSERT_EQ(r.violations.size(), 1u) << c.text << ": " << (r.violations.size() > 1 ? r.violations[1].message : "");
    EXPECT_EQ(r.violations[0].kind, "illegal_tag") << c.text;
    EXPECT_EQ(r.violations[0].offset, c.offset) << c.text;
    EXPECT_NE(r.violations[0].message.find(c.note), std::string::npos) << c.text << ": " << r.violations[0].message;
    EXPECT_EQ(r.stats.bytes["human"], c.human_bytes) << c.text;
  }
  // the quote closed by the repair is counted as a quote
  EXPECT_EQ(lint("<AI>a<AI_quoting_human>b...</AI>").stats.quotes, 1u);
  EXPECT_EQ(lint("<AI>a<AI_quoting_human>b...</AI>").stats.quotes_cut_short, 1u);
  // two separate mistakes stay two: an owed close is used up once
  Linted two = lint("<AI>a<AI>b</AI></AI> x</AI>");
  ASSERT_EQ(two.violations.size(), 2u);
  EXPECT_EQ(two.violations[1].offset, 22u);
  // a quote left open at the end is still reported
  EXPECT_EQ(lint("<AI>a<AI_quoting_human>b").violations.at(0).kind, "unclosed");
}

TEST(Lint, GenerationRules) {
  LintOptions g;
  g.generation = true;
  g.require_end = false;
  std::vector<LintViolation> v;
  ModeStats s;
  // pieces as a generator produces them: the start tag, text, the stop tag
  std::vector<MarkupPiece> ok = {{true, "<AI>", 0}, {false, "hi", 4}, {true, "</AI>", 6}};
  lint_pieces(ai_mode(), ok, "s", g, v, s);
  EXPECT_TRUE(v.empty());
  std::vector<MarkupPiece> no_start = {{false, "hi", 0}, {true, "<AI>", 2}};
  lint_pieces(ai_mode(), no_start, "s", g, v, s);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].kind, "missing_start");
  std::vector<MarkupPiece> after = {{true, "<AI>", 0}, {true, "</AI>", 4}, {false, "more", 9}};
  lint_pieces(ai_mode(), after, "s", g, v, s);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[1].kind, "after_stop");
  EXPECT_EQ(v[1].offset, 9u);
}

TEST(Lint, CutShortQuotes) {
  EXPECT_TRUE(quote_is_cut_short("use a\xE2\x80\xA6"));
  EXPECT_TRUE(quote_is_cut_short("use a... "));
  EXPECT_TRUE(quote_is_cut_short("use a \xE2\x80\x94"));
  EXPECT_FALSE(quote_is_cut_short("I am fine."));
  EXPECT_FALSE(quote_is_cut_short(""));
}

TEST(LintCli, ReportsViolationsWithRecordAndFailsTheRun) {
  const std::string dir = testing::temp_dir();
  write_file_atomic(dir + "/c.jsonl",
                    "{\"id\": \"good\", \"text\": \"He lied. <AI>Lying hurts trust.</AI>\"}\n"
                    "{\"id\": \"bad\", \"text\": \"<AI>x<AI_quoting_human>y</AI>\"}\n");
  const std::string cmd = std::string(PREALIGN_BINARY) + " lint --policy " + source_path("configs/policies/ai_mode.json") +
                          " --tagset " + source_path("configs/tagsets/ai_modes.json") + " --report " + dir +
                          "/r.json " + dir + "/c.jsonl > " + dir + "/out.txt 2>&1";
  const int rc = std::system(cmd.c_str());
  EXPECT_NE(rc, 0);
  const std::string out = read_file(dir + "/out.txt");
  EXPECT_NE(out.find("c.jsonl:2: document \"bad\" byte 24: illegal_tag"), std::string::npos) << out;
  const json r = read_json_file(dir + "/r.json");
  EXPECT_EQ(r["stats"]["documents"], 2);
  EXPECT_EQ(r["stats"]["violations"], 1);  // the </AI> inside the quote; it closes the quote too
  EXPECT_EQ(r["stats"]["documents_with_commentary"], 1);
}

}  // namespace
}  // namespace prealign
