// The command scorer: protocol, batching, crashed/hung/misbehaving workers, and
// the pep8 preset against pycodestyle's own command-line output.
#include <gtest/gtest.h>

#include <map>
#include <regex>

#include "core/error.hpp"
#include "score/command.hpp"
#include "score/pep8.hpp"
#include "score/scorers.hpp"
#include "score_helpers.hpp"
#include "test_util.hpp"

using namespace prealign;
using namespace prealign::testing;

namespace {

// A fake worker: per segment [bytes, count of 'x'], with markers that make it
// crash, hang, fail one item, return a negative score or garbage. Logs every
// request line to argv[1] when given.
const char* kFakeWorker = R"PY(
import json, os, sys, time
log = open(sys.argv[1], "ab") if len(sys.argv) > 1 else None
for raw in sys.stdin.buffer:
    if log:
        log.write(raw); log.flush()
    req = json.loads(raw)
    res = []
    garbage = False
    for it in req["items"]:
        t = it["text"]
        if "CRASH" in t: os._exit(3)
        if "HANG" in t: time.sleep(60)
        if "GARBAGE" in t: garbage = True
        if "FAIL" in t:
            res.append({"error": "marker FAIL"}); continue
        if "NEG" in t:
            res.append({"scores": [[-1.0, 0.0] for _ in it["segments"]]}); continue
        b = t.encode()
        res.append({"scores": [[float(e - s), float(b[s:e].count(b"x"))] for s, e in it["segments"]]})
    sys.stdout.write("not json\n" if garbage else json.dumps({"id": req["id"], "results": res}) + "\n")
    sys.stdout.flush()
)PY";

json fake_config(const std::string& dir, int timeout_ms = 1500, int restarts = 3, const std::string& log = "") {
  write_text(dir + "/worker.py", kFakeWorker);
  json cmd = {"/usr/bin/python3", dir + "/worker.py"};
  if (!log.empty()) cmd.push_back(log);
  return {{"type", "command"}, {"name", "fake"},           {"categories", {"bytes", "x"}},
          {"command", cmd},    {"timeout_ms", timeout_ms}, {"restarts", restarts}};
}

struct Batch {
  std::vector<std::string> texts;
  std::vector<std::string_view> views;
  std::vector<std::vector<Span>> spans;
  explicit Batch(std::vector<std::string> t) : texts(std::move(t)) {
    for (const auto& s : texts) {
      views.push_back(s);
      spans.push_back(line_spans(s));
    }
  }
};

void expect_reference_scores(const std::string& text, const ScoreResult& r) {
  auto spans = line_spans(text);
  ASSERT_EQ(r.scores.size(), spans.size());
  for (size_t s = 0; s < spans.size(); ++s) {
    std::string seg = text.substr(spans[s].begin, spans[s].end - spans[s].begin);
    EXPECT_FLOAT_EQ(r.scores[s][0], float(seg.size()));
    EXPECT_FLOAT_EQ(r.scores[s][1], float(std::count(seg.begin(), seg.end(), 'x')));
  }
}

}  // namespace

TEST(CommandScorer, ScoresThroughTheWorkerAndSendsTheDocumentedRequest) {
  std::string dir = temp_dir();
  auto scorer = make_scorer(fake_config(dir, 10000, 3, dir + "/log.jsonl"), "score.json: scorers[0]");
  EXPECT_EQ(scorer->categories(), (std::vector<std::string>{"bytes", "x"}));
  Batch b({"xx\nabc x\n", "no newline at end x", "caf\xc3\xa9 x\n\nlast"});
  std::vector<std::string> errors;
  auto results = scorer->score_batch(b.views, b.spans, errors);
  for (size_t i = 0; i < b.texts.size(); ++i) {
    EXPECT_EQ(errors[i], "");
    expect_reference_scores(b.texts[i], results[i]);
  }
  // One request for the three documents, in the documented shape.
  std::string log = read_text(dir + "/log.jsonl");
  ASSERT_EQ(std::count(log.begin(), log.end(), '\n'), 1);
  json req = json::parse(log);
  EXPECT_EQ(req["id"], 1);
  ASSERT_EQ(req["items"].size(), 3u);
  EXPECT_EQ(req["items"][2]["text"], b.texts[2]);
  EXPECT_EQ(req["items"][2]["segments"], json::parse("[[0, 8], [8, 9], [9, 13]]"));  // byte offsets
}

TEST(CommandScorer, BatchOptionSplitsRequests) {
  std::string dir = temp_dir();
  json cfg = fake_config(dir, 10000, 3, dir + "/log.jsonl");
  cfg["batch"] = 2;
  auto scorer = make_scorer(cfg, "t");
  Batch b({"a\n", "b\n", "c\n", "d\n", "e\n"});
  std::vector<std::string> errors;
  auto results = scorer->score_batch(b.views, b.spans, errors);
  std::string log = read_text(dir + "/log.jsonl");
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 3);  // 2 + 2 + 1
  for (size_t i = 0; i < 5; ++i) expect_reference_scores(b.texts[i], results[i]);
}

TEST(CommandScorer, CrashHangAndBadItemsAreErrorsNeverZero) {
  std::string dir = temp_dir();
  auto scorer = make_scorer(fake_config(dir, 1500, 3), "t");
  Batch b({"ok x\n", "CRASH\n", "ok xx\nline\n", "HANG\n", "FAIL\n", "NEG\n", "ok\n", "GARBAGE\n", "xxx"});
  std::vector<std::string> errors;
  auto results = scorer->score_batch(b.views, b.spans, errors);
  const std::vector<bool> bad = {false, true, false, true, true, true, false, true, false};
  for (size_t i = 0; i < b.texts.size(); ++i) {
    SCOPED_TRACE(b.texts[i]);
    if (bad[i]) {
      EXPECT_NE(errors[i], "");
      EXPECT_TRUE(results[i].scores.empty());  // nothing that could pass for a score of 0
    } else {
      EXPECT_EQ(errors[i], "");
      expect_reference_scores(b.texts[i], results[i]);
    }
  }
  EXPECT_NE(errors[1].find("exited with status 3"), std::string::npos) << errors[1];
  EXPECT_NE(errors[3].find("did not answer within 1500 ms"), std::string::npos) << errors[3];
  EXPECT_NE(errors[4].find("marker FAIL"), std::string::npos) << errors[4];
  EXPECT_NE(errors[5].find("score -1"), std::string::npos) << errors[5];
  EXPECT_NE(errors[7].find("not JSON"), std::string::npos) << errors[7];
  json rep = scorer->report();
  EXPECT_EQ(rep["crashes"], 2);       // the whole batch, then CRASH alone
  EXPECT_EQ(rep["timeouts"], 1);      // HANG alone
  EXPECT_EQ(rep["bad_responses"], 1);  // GARBAGE alone
  EXPECT_EQ(rep["restarts"], 4);
  EXPECT_EQ(rep["failed_documents"], 3);  // the item errors (FAIL, NEG) are not worker failures
  // The scorer is usable afterwards: a fresh worker takes over.
  Batch again({"after x\n"});
  auto r2 = scorer->score_batch(again.views, again.spans, errors);
  EXPECT_EQ(errors[0], "");
  expect_reference_scores(again.texts[0], r2[0]);
}

TEST(CommandScorer, ScoreThrowsScoreErrorForOneDocument) {
  std::string dir = temp_dir();
  auto scorer = make_scorer(fake_config(dir), "t");
  std::string text = "FAIL\n";
  EXPECT_THROW(scorer->score(text, line_spans(text)), ScoreError);
  std::string ok = "fine x\n";
  expect_reference_scores(ok, scorer->score(ok, line_spans(ok)));
}

TEST(CommandScorer, ConsecutiveFailuresBeyondRestartsAreFatal) {
  std::string dir = temp_dir();
  auto scorer = make_scorer(fake_config(dir, 1500, 1), "t");
  Batch b({"CRASH 1\n", "CRASH 2\n", "CRASH 3\n"});
  std::vector<std::string> errors;
  try {
    scorer->score_batch(b.views, b.spans, errors);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("failed 2 times in a row"), std::string::npos) << e.what();
  }
  json exits = {{"type", "command"}, {"name", "x"}, {"command", {"/bin/sh", "-c", "exit 7"}}, {"restarts", 0}};
  std::string one = "a\n";
  try {
    make_scorer(exits, "t")->score(one, line_spans(one));
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("exited with status 7"), std::string::npos) << e.what();
  }
}

TEST(CommandScorer, ConfigErrorsNameTheField) {
  EXPECT_THROW(make_scorer(json{{"type", "command"}, {"name", "x"}}, "t"), Error);  // no command
  EXPECT_THROW(make_scorer(json{{"type", "command"}, {"command", "/bin/cat"}, {"batch", 0}}, "t"), Error);
  EXPECT_THROW(make_scorer(json{{"type", "command"}, {"command", "/bin/cat"}, {"timeuot_ms", 5}}, "t"), Error);
  EXPECT_THROW(make_scorer(json{{"type", "command"}, {"command", json::array()}}, "t"), Error);
  EXPECT_THROW(make_scorer(json{{"type", "nope"}}, "t"), Error);
  auto missing = make_scorer(json{{"type", "command"}, {"command", "/nonexistent/scorer"}}, "t");
  std::string one = "a\n";
  EXPECT_THROW(missing->score(one, line_spans(one)), Error);
}

// ---- pep8 -------------------------------------------------------------------

namespace {

// pycodestyle's own command line, parsed independently: violations per line number.
std::map<long, int> pycodestyle_counts(const std::string& dir, const std::string& file) {
  std::string out = run_capture("cd '" + dir + "' && HOME='" + dir + "' XDG_CONFIG_HOME='" + dir +
                                "' /usr/bin/python3 -m pycodestyle '" + file + "' 2>/dev/null");
  std::map<long, int> counts;
  std::regex line_re(R"(^.*?:(\d+):(\d+): [EW]\d+ .*$)");
  std::istringstream in(out);
  std::string l;
  while (std::getline(in, l)) {
    std::smatch m;
    if (std::regex_match(l, m, line_re)) ++counts[std::stol(m[1])];
  }
  return counts;
}

}  // namespace

TEST(Pep8Scorer, PerLineScoresMatchPycodestyleOnRealFiles) {
  std::string dir = temp_dir();
  std::string synthetic = dir + "/synthetic.py";
  // blank lines (E302/E303), indentation (E111), trailing space (W291), long line (E501),
  // a non-ASCII line, no final newline (W292)
  write_text(synthetic,
             "import os\ndef f():\n   return 1\n\n\n\nx = 'caf\xc3\xa9'  \ny=2\n" + std::string(100, '#') +
                 "\nclass A:\n    pass\nz = 3");
  auto scorer = make_scorer(json{{"type", "pep8"}}, "t");
  size_t files = 0, total_violations = 0;
  for (std::string file : {synthetic, std::string("/usr/lib/python3.11/colorsys.py"),
                           std::string("/usr/lib/python3.11/glob.py"), std::string("/usr/lib/python3.11/cmd.py")}) {
    SCOPED_TRACE(file);
    std::string text = read_text(file);
    if (text.empty()) continue;  // a machine without that file
    ++files;
    std::map<long, int> counts = pycodestyle_counts(dir, file);
    auto spans = line_spans(text);
    ScoreResult r = scorer->score(text, spans);
    ASSERT_EQ(r.scores.size(), spans.size());
    for (auto& [line, n] : counts) {
      total_violations += n;
      ASSERT_GE(line, 1);
      ASSERT_LE(static_cast<size_t>(line), spans.size());
    }
    for (size_t i = 0; i < spans.size(); ++i) {
      std::string seg = text.substr(spans[i].begin, spans[i].end - spans[i].begin);
      double expect = counts.count(long(i + 1)) ? counts[long(i + 1)] / double(code_points(seg)) : 0.0;
      EXPECT_NEAR(r.scores[i][0], expect, 1e-6) << "line " << i + 1 << ": " << seg;
    }
  }
  EXPECT_GE(files, 1u);
  EXPECT_GT(total_violations, 10u);  // the comparison saw real violations
}

TEST(Pep8Scorer, WrapperAndTextScoreAgreeWithPerLineCounts) {
  Pep8Scorer p;
  std::string text = "x=1\ny = 2\n";  // E225 on line 1 only
  auto lines = p.score_lines(text);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_FLOAT_EQ(lines[0], 1.f / 4.f);
  EXPECT_FLOAT_EQ(lines[1], 0.f);
  EXPECT_NEAR(p.score_text(text), 1.0 / 10.0, 1e-9);
}

TEST(Pep8Scorer, SegmentsThatAreNotLinesAreAConfigurationError) {
  auto scorer = make_scorer(json{{"type", "pep8"}}, "t");
  std::string text = "x = 1\ny = 2\n";
  EXPECT_THROW(scorer->score(text, {{0, 3}, {3, text.size()}}), Error);
  EXPECT_THROW(scorer->score(text, {{0, text.size()}}), Error);
  EXPECT_EQ(scorer->score(text, {{6, 12}}).scores.size(), 1u);  // a subset of whole lines is fine
}

// A model's sample can end mid-character (byte-fallback tokens). The worker
// still scores it, line by line at the same offsets, instead of failing.
TEST(Pep8Scorer, TextCutMidCharacterIsScoredLineByLine) {
  Pep8Scorer p;
  std::string text = "x=1\ny = \"caf\xC3\n";  // an invalid byte in line 2; E225 on line 1
  auto lines = p.score_lines(text);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_FLOAT_EQ(lines[0], 1.f / 4.f);
  EXPECT_GE(lines[1], 0.f);
}

// "ignore" adds codes to pycodestyle's default ignore list: a text cut at a
// token limit (no final newline, inside a docstring) keeps its style violations
// but loses the ones that only count the cut.
TEST(Pep8Scorer, IgnoreDropsTheTruncationCodesAndKeepsTheStyleOnes) {
  const std::string cut_line = "x=1\ny = 2";              // E225 on line 1, W292 on line 2
  const std::string cut_docstring = "x=1\ny = \"\"\"abc\n";  // E225, E901 (EOF in multi-line string)
  auto plain = make_scorer(json{{"type", "pep8"}}, "t");
  auto ignoring = make_scorer(json{{"type", "pep8"}, {"ignore", {"W292", "E901", "E902"}}}, "t");
  const std::vector<Span> two_lines = {{0, 4}, {4, cut_line.size()}};
  auto a = plain->score(cut_line, two_lines), b = ignoring->score(cut_line, two_lines);
  EXPECT_FLOAT_EQ(a.scores[0][0], 1.f / 4.f);
  EXPECT_FLOAT_EQ(a.scores[1][0], 1.f / 5.f);  // W292
  EXPECT_FLOAT_EQ(b.scores[0][0], 1.f / 4.f);
  EXPECT_FLOAT_EQ(b.scores[1][0], 0.f);
  const std::vector<Span> doc_lines = {{0, 4}, {4, cut_docstring.size()}};
  auto c = plain->score(cut_docstring, doc_lines), d = ignoring->score(cut_docstring, doc_lines);
  EXPECT_GT(c.scores[0][0] + c.scores[1][0], d.scores[0][0] + d.scores[1][0]);  // E901 counted only without ignore
  EXPECT_FLOAT_EQ(d.scores[0][0], 1.f / 4.f);
  EXPECT_FLOAT_EQ(d.scores[1][0], 0.f);
  // A code that cannot be one is a config error naming the field.
  EXPECT_THROW(make_scorer(json{{"type", "pep8"}, {"ignore", {"W2 92"}}}, "t"), Error);
  EXPECT_THROW(make_scorer(json{{"type", "pep8"}, {"ignore", "W292"}}, "t"), Error);
}
