// The score run (score/pipeline.hpp): output against scoring each document
// directly, independence from threads and batching, shards that partition the
// corpus, and every kind of bad input (error naming file:line, or counted and
// skipped with skip_bad; the output is never left half-written).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "core/error.hpp"
#include "core/lines.hpp"
#include "corpus/document.hpp"
#include "corpus/reader.hpp"
#include "score/pipeline.hpp"
#include "score/scorer.hpp"
#include "score_helpers.hpp"
#include "test_util.hpp"

using namespace prealign;
using namespace prealign::testing;
namespace fs = std::filesystem;

namespace {

const char* kTexts[] = {
    "Mail me at jane.doe@example.com. Or call (212) 555-0123!\nThanks.",
    "Nothing to see here. Version 1.2.3 is out.",
    "Card 4111 1111 1111 1111 and SSN 123-45-6789.\n\nBye. Write to bob@example.org today.",
    "plain text without anything",
    "Mixed: ünïcödé text with e-mail äbc@example.de? Yes.",
};

ScoreConfig pii_config(SegmenterKind seg = SegmenterKind::Sentence, size_t batch_docs = 2) {
  ScoreConfig c;
  c.segmenter = seg;
  c.scorers = json::array({{{"type", "pii"}, {"name", "pii"}}});
  c.batch_documents = batch_docs;
  return c;
}

ScoreRunOptions run_options(const std::string& out, int threads = 2) {
  ScoreRunOptions o;
  o.out = out;
  o.threads = threads;
  o.quiet = true;
  return o;
}

// A JSONL corpus of the texts above, repeated `copies` times with distinct ids.
std::string write_corpus(const std::string& dir, int copies) {
  std::string path = dir + "/in.jsonl", body;
  int id = 0;
  for (int c = 0; c < copies; ++c)
    for (const char* t : kTexts) body += json({{"id", "d" + std::to_string(id++)}, {"text", t}}).dump() + "\n";
  write_text(path, body);
  return path;
}

std::vector<json> read_records(const std::string& path) {
  std::vector<json> out;
  LineReader in(path);
  std::string line;
  while (in.next(line)) out.push_back(json::parse(line));
  return out;
}

// Error message of `f`, or a test failure.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected an Error";
  return "";
}

}  // namespace

TEST(ScorePipeline, OutputMatchesScoringEachDocumentDirectly) {
  const std::string dir = temp_dir();
  const std::string in = write_corpus(dir, 3);
  ScoreSummary s = run_score({in}, pii_config(), run_options(dir + "/out.jsonl"));
  auto records = read_records(dir + "/out.jsonl");
  ASSERT_EQ(records.size(), 15u);
  EXPECT_EQ(s.documents, 15u);
  auto reference = make_scorer({{"type", "pii"}, {"name", "pii"}}, "test");
  uint64_t segments = 0, over = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    const std::string text = kTexts[i % 5];
    EXPECT_EQ(records[i]["id"], "d" + std::to_string(i));
    EXPECT_EQ(records[i]["text"], text);
    // reads back as a valid scored document
    Document doc = document_from_json(records[i], "out:" + std::to_string(i + 1));
    std::vector<Span> spans = segment_text(text, SegmenterKind::Sentence);
    ScoreResult r = reference->score(text, spans);
    ASSERT_EQ(doc.segments.size(), spans.size());
    ASSERT_EQ(doc.categories, std::vector<std::string>{"pii"});
    for (size_t k = 0; k < spans.size(); ++k) {
      EXPECT_EQ(doc.segments[k].begin, spans[k].begin);
      EXPECT_EQ(doc.segments[k].end, spans[k].end);
      EXPECT_EQ(doc.segments[k].scores[0], r.scores[k][0]) << "record " << i << " segment " << k;
      over += r.scores[k][0] > 0;
    }
    segments += spans.size();
  }
  EXPECT_EQ(s.segments, segments);
  EXPECT_EQ(s.stats.at("pii").over, over);
  EXPECT_GT(over, 0u);
  EXPECT_EQ(s.bad_input + s.score_errors, 0u);
}

TEST(ScorePipeline, OutputDoesNotDependOnThreadsOrBatching) {
  const std::string dir = temp_dir();
  const std::string in = write_corpus(dir, 20);
  run_score({in}, pii_config(SegmenterKind::Sentence, 1), run_options(dir + "/a.jsonl", 1));
  run_score({in}, pii_config(SegmenterKind::Sentence, 7), run_options(dir + "/b.jsonl", 3));
  ScoreConfig big = pii_config(SegmenterKind::Sentence, 1000);
  big.batch_bytes = 100;  // units cut by bytes instead
  run_score({in}, big, run_options(dir + "/c.jsonl", 2));
  const std::string a = read_text(dir + "/a.jsonl");
  EXPECT_EQ(a, read_text(dir + "/b.jsonl"));
  EXPECT_EQ(a, read_text(dir + "/c.jsonl"));
  EXPECT_EQ(std::count(a.begin(), a.end(), '\n'), 100);
}

TEST(ScorePipeline, ShardsPartitionTheRecordsAndCountABadRecordOnce) {
  const std::string dir = temp_dir();
  std::string body;
  for (int i = 0; i < 10; ++i) body += json({{"id", i}, {"text", "doc " + std::to_string(i)}}).dump() + "\n";
  body += "{not json\n";  // record 10
  write_text(dir + "/in.jsonl", body);
  write_text(dir + "/t.txt", "a text file is one record.");  // record 11
  std::multiset<std::string> ids;
  uint64_t bad = 0, others = 0;
  for (int i = 0; i < 3; ++i) {
    ScoreRunOptions o = run_options(dir + "/s" + std::to_string(i) + ".jsonl");
    o.shard = std::to_string(i) + "/3";
    o.skip_bad = true;
    ScoreSummary s = run_score({dir + "/in.jsonl", dir + "/t.txt"}, pii_config(), o);
    bad += s.bad_input;
    others += s.other_shards;
    for (const json& r : read_records(o.out)) {
      ids.insert(r["id"].get<std::string>());
      EXPECT_EQ(std::stoi(r["id"].get<std::string>() == dir + "/t.txt" ? "11" : r["id"].get<std::string>()) % 3, i);
    }
  }
  EXPECT_EQ(ids.size(), 11u);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 11u);  // each once
  EXPECT_EQ(bad, 1u);
  EXPECT_EQ(others, 2u * 12u);
  EXPECT_THROW(parse_shard("3/3", "t"), Error);
  EXPECT_THROW(parse_shard("1", "t"), Error);
  EXPECT_THROW(parse_shard("-1/2", "t"), Error);
  EXPECT_EQ(parse_shard("2/5", "t"), std::make_pair(uint64_t(2), uint64_t(5)));
}

TEST(ScorePipeline, RescoringKeepsSegmentsAndOldCategories) {
  const std::string dir = temp_dir();
  const std::string in = dir + "/in.jsonl";
  // one scored record: two segments with a "pep8" score, plus meta
  write_text(
      in,
      R"({"id": "x", "text": "a@example.com\nb\n", "source": "web", )"
      R"("segments": [{"start": 0, "end": 14, "scores": {"pep8": 0.5}}, {"start": 14, "end": 16, "scores": {"pep8": 0}}]})"
      "\n");
  run_score({in}, pii_config(SegmenterKind::Document), run_options(dir + "/out.jsonl"));
  auto r = read_records(dir + "/out.jsonl");
  ASSERT_EQ(r.size(), 1u);
  Document d = document_from_json(r[0], "out");
  ASSERT_EQ(d.categories, (std::vector<std::string>{"pep8", "pii"}));
  ASSERT_EQ(d.segments.size(), 2u);  // the input's segments, not the document segmenter's
  EXPECT_EQ(d.segments[0].scores[0], 0.5f);
  EXPECT_FLOAT_EQ(d.segments[0].scores[1], 1.0f / 14.0f);
  EXPECT_EQ(d.segments[1].scores[1], 0.0f);
  EXPECT_EQ(d.meta.at("source"), "web");
}

TEST(ScorePipeline, ShortFloatsReadBackExactly) {
  for (float x : {0.1f, 1.0f / 3.0f, 1e-7f, 0.0714285746f, 123456.789f, 0.f}) {
    std::string text = short_float(x).dump();
    EXPECT_EQ(static_cast<float>(std::strtod(text.c_str(), nullptr)), x) << text;
    EXPECT_LE(text.size(), 14u) << text;
  }
  EXPECT_EQ(short_float(0.1f).dump(), "0.1");
}

TEST(ScorePipeline, ConfigRejectsUnknownFieldsAndCategoryClashes) {
  EXPECT_THROW(ScoreConfig::from_json(json::parse(R"({"scorers": [{"type": "pii"}], "segmentr": "line"})"), "c"),
               Error);
  EXPECT_THROW(ScoreConfig::from_json(json::parse(R"({"scorers": []})"), "c"), Error);
  EXPECT_THROW(ScoreConfig::from_json(json::parse(R"({"scorers": [{"type": "pii"}], "segmenter": "word"})"), "c"),
               Error);
  const std::string dir = temp_dir();
  write_text(dir + "/a.txt", "text");
  ScoreConfig c = ScoreConfig::from_json(json::parse(R"({"scorers": [{"type": "pii"}, {"type": "pii"}]})"), "c");
  std::string msg = error_of([&] { run_score({dir + "/a.txt"}, c, run_options(dir + "/o.jsonl")); });
  EXPECT_NE(msg.find("produced by two scorers"), std::string::npos) << msg;
}

// Each kind of bad input: without skip_bad an Error naming file and line and no
// output (an existing file keeps its contents); with skip_bad the good records
// are written, the bad one counted.
struct BadCase {
  const char* name;
  std::string file, bytes, where;  // `where`: expected location in the message
  size_t good;                     // good records in the file
};

TEST(ScorePipeline, BadInputIsReportedWithFileAndLineOrSkipped) {
  const std::string dir = temp_dir();
  const std::string good = json({{"id", "g"}, {"text", "good text. fine@example.com"}}).dump() + "\n";
  std::vector<BadCase> cases = {
      {"invalid utf8", "u.jsonl", good + "{\"text\": \"bad \xff byte\"}\n", "u.jsonl:2", 1},
      {"malformed json", "m.jsonl", good + good + "{\"text\": \"oops\"\n", "m.jsonl:3", 2},
      {"missing text", "t.jsonl", good + "{\"body\": \"no text field\"}\n", "t.jsonl:2", 1},
      {"nul in jsonl", "n.jsonl", good + "{\"text\": \"a\\u0000b\"}\n", "n.jsonl:2", 1},
      {"nul in text file", "bin.txt", std::string("line one\nline\0two\n", 18), "bin.txt:2", 0},
      {"invalid utf8 text file", "latin1.txt", "ok\nok\ncaf\xe9\n", "latin1.txt:3", 0},
      {"empty jsonl", "empty.jsonl", "", "empty.jsonl", 0},
      {"empty text file", "empty.txt", "", "empty.txt", 0},
      {"long line in text", "long.txt", "short\n" + std::string(3000, 'x') + "\n", "long.txt:2", 0},
      {"long jsonl line", "longrec.jsonl", good + json({{"text", std::string(3000, 'y')}}).dump() + "\n",
       "longrec.jsonl:2", 1},
  };
  write_text(dir + "/good.jsonl", good);
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string in = dir + "/" + c.file, out = dir + "/out.jsonl";
    write_text(in, c.bytes);
    write_text(out, "previous\n");
    ScoreRunOptions o = run_options(out);
    o.max_line_bytes = 2000;
    std::string msg = error_of([&] { run_score({dir + "/good.jsonl", in}, pii_config(), o); });
    EXPECT_NE(msg.find(dir + "/" + c.where), std::string::npos) << msg;
    EXPECT_EQ(read_text(out), "previous\n");  // untouched
    o.skip_bad = true;
    ScoreSummary s = run_score({dir + "/good.jsonl", in}, pii_config(), o);
    EXPECT_EQ(s.bad_input, 1u);
    ASSERT_EQ(s.first_errors.size(), 1u);
    EXPECT_NE(s.first_errors[0].find(c.where), std::string::npos) << s.first_errors[0];
    auto records = read_records(out);  // valid JSONL, every good record in it
    EXPECT_EQ(records.size(), 1 + c.good);
    for (const json& r : records) EXPECT_NO_THROW(document_from_json(r, "out"));
  }
}

TEST(ScorePipeline, AFiftyMegabyteLineIsBadInputInBoundedTime) {
  const std::string dir = temp_dir();
  std::string big(50u << 20, 'z');
  write_text(dir + "/big.txt", "first line\n" + big);
  write_text(dir + "/big.jsonl", json({{"text", big}}).dump() + "\n" + json({{"text", "after"}}).dump() + "\n");
  ScoreRunOptions o = run_options(dir + "/out.jsonl");
  std::string msg = error_of([&] { run_score({dir + "/big.txt"}, pii_config(), o); });
  EXPECT_NE(msg.find("big.txt:2"), std::string::npos) << msg;
  msg = error_of([&] { run_score({dir + "/big.jsonl"}, pii_config(), o); });
  EXPECT_NE(msg.find("big.jsonl:1"), std::string::npos) << msg;
  o.skip_bad = true;
  ScoreSummary s = run_score({dir + "/big.jsonl", dir + "/big.txt"}, pii_config(), o);
  EXPECT_EQ(s.bad_input, 2u);
  EXPECT_EQ(s.documents, 1u);                        // "after"
  for (const auto& e : fs::directory_iterator(dir))  // no temporary file left behind
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
}

TEST(ScorePipeline, AllowNulScoresTextsWithNul) {
  const std::string dir = temp_dir();
  write_text(dir + "/n.jsonl", "{\"text\": \"a\\u0000b x@example.com\"}\n");
  ScoreRunOptions o = run_options(dir + "/out.jsonl");
  o.allow_nul = true;
  ScoreSummary s = run_score({dir + "/n.jsonl"}, pii_config(), o);
  EXPECT_EQ(s.documents, 1u);
  EXPECT_EQ(s.stats.at("pii").over, 1u);
  EXPECT_EQ(read_records(o.out)[0]["text"], std::string("a\0b x@example.com", 17));
}

TEST(ScorePipeline, ScorerFailuresAreCountedNeverScoredZero) {
  const std::string dir = temp_dir();
  write_text(dir + "/worker.py", R"PY(
import json, sys
for raw in sys.stdin.buffer:
    req = json.loads(raw)
    res = []
    for it in req["items"]:
        if "FAIL" in it["text"]:
            res.append({"error": "marker"})
        else:
            res.append({"scores": [[float(e - s)] for s, e in it["segments"]]})
    print(json.dumps({"id": req["id"], "results": res}), flush=True)
)PY");
  std::string body;
  for (int i = 0; i < 12; ++i)
    body += json({{"id", i}, {"text", i == 5 ? "please FAIL here\nx\n" : "ok line\nsecond\n"}}).dump() + "\n";
  write_text(dir + "/in.jsonl", body);
  ScoreConfig c;
  c.segmenter = SegmenterKind::Line;
  c.scorers = json::array(
      {{{"type", "command"}, {"name", "len"}, {"command", {"/usr/bin/python3", dir + "/worker.py"}}, {"batch", 4}}});
  ScoreRunOptions o = run_options(dir + "/out.jsonl");
  std::string msg = error_of([&] { run_score({dir + "/in.jsonl"}, c, o); });
  EXPECT_NE(msg.find("in.jsonl:6"), std::string::npos) << msg;
  o.skip_bad = true;
  ScoreSummary s = run_score({dir + "/in.jsonl"}, c, o);
  EXPECT_EQ(s.score_errors, 1u);
  EXPECT_EQ(s.documents, 11u);
  for (const json& r : read_records(o.out)) {
    EXPECT_NE(r["id"], "5");
    EXPECT_EQ(r["segments"][0]["scores"]["len"], 8.0);
  }
  ASSERT_TRUE(s.scorers.contains("len"));
  EXPECT_EQ(s.scorers["len"]["failed_documents"], 0);  // the item failed, the worker did not
}

TEST(ScorePipeline, DirectoriesTextFilesAndSummaryJson) {
  const std::string dir = temp_dir();
  fs::create_directories(dir + "/tree/sub");
  write_text(dir + "/tree/a.py", "x = 1\nemail = 'a@example.com'\n");
  write_text(dir + "/tree/sub/b.py", "def f():\n    return 2\n");
  write_text(dir + "/tree/notes.md", "not matched");
  ScoreRunOptions o = run_options(dir + "/out.jsonl");
  o.glob = "*.py";
  ScoreSummary s = run_score({dir + "/tree"}, pii_config(SegmenterKind::Line), o);
  auto r = read_records(o.out);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0]["id"], dir + "/tree/a.py");
  EXPECT_EQ(r[0]["segments"].size(), 2u);
  EXPECT_GT(r[0]["segments"][1]["scores"]["pii"].get<double>(), 0.0);
  ordered_json j = s.to_json();
  EXPECT_EQ(j["documents"], 2);
  EXPECT_EQ(j["segments"], 4);
  EXPECT_DOUBLE_EQ(j["categories"]["pii"]["fraction_over"].get<double>(), 0.25);
}
