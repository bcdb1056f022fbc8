// Scored-JSONL documents and the corpus reader: good records, every kind of bad
// record (Error naming file:line, or counted with skip_bad), odd inputs.
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "core/error.hpp"
#include "corpus/document.hpp"
#include "corpus/reader.hpp"
#include "test_util.hpp"

using namespace prealign;
namespace fs = std::filesystem;

namespace {

void write(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

std::vector<Document> read_all(const std::vector<std::string>& inputs, const CorpusReadOptions& o,
                               CorpusReadStats* stats = nullptr) {
  std::vector<Document> docs;
  CorpusReadStats st = read_corpus(inputs, o, [&](Document&& d) { docs.push_back(std::move(d)); });
  if (stats) *stats = st;
  return docs;
}

// The Error thrown by `f`, or a test failure.
template <class F>
Error error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "expected an Error";
  return Error("", "");
}

const char* kGood =
    R"({"id": "a.py", "text": "x = 1\ny=2\n", "segments": [{"start": 0, "end": 6, "scores": {"pep8": 0.0, "pii": 0.5}},)"
    R"( {"start": 6, "end": 10, "scores": {"pii": 0.25, "pep8": 1.5}}], "source": "gh", "meta": {"lic": "mit"}})";

}  // namespace

TEST(Document, ParsesAGoodRecord) {
  Document d = document_from_json(json::parse(kGood), "c.jsonl:1");
  EXPECT_EQ(d.id, "a.py");
  EXPECT_EQ(d.text, "x = 1\ny=2\n");
  ASSERT_EQ(d.categories, (std::vector<std::string>{"pep8", "pii"}));
  ASSERT_EQ(d.segments.size(), 2u);
  EXPECT_EQ(d.segments[0].begin, 0u);
  EXPECT_EQ(d.segments[0].end, 6u);
  EXPECT_EQ(d.segments[1].begin, 6u);
  EXPECT_EQ(d.segments[1].end, 10u);
  // scores follow the category order whatever the key order in the record
  EXPECT_FLOAT_EQ(d.segments[0].scores[0], 0.0f);
  EXPECT_FLOAT_EQ(d.segments[0].scores[1], 0.5f);
  EXPECT_FLOAT_EQ(d.segments[1].scores[0], 1.5f);
  EXPECT_FLOAT_EQ(d.segments[1].scores[1], 0.25f);
  EXPECT_EQ(d.meta.at("source"), "gh");  // other top-level fields join meta
  EXPECT_EQ(d.meta.at("lic"), "mit");
  EXPECT_FALSE(d.tagged);
  EXPECT_EQ(d.where, "c.jsonl:1");

  Document back = document_from_json(document_to_json(d), "x");
  EXPECT_EQ(back.id, d.id);
  EXPECT_EQ(back.text, d.text);
  EXPECT_EQ(back.categories, d.categories);
  EXPECT_EQ(back.meta, d.meta);
  ASSERT_EQ(back.segments.size(), 2u);
  EXPECT_EQ(back.segments[1].scores, d.segments[1].scores);
}

TEST(Document, UnscoredDocumentIsOneCoveringSegment) {
  Document d = document_from_json(json::parse(R"({"text": "h\u00e9llo", "tagged": true})"), "f:3");
  EXPECT_EQ(d.id, "f:3");  // no id: the record's location
  EXPECT_TRUE(d.tagged);
  auto segs = covering_segments(d);
  ASSERT_EQ(segs.size(), 1u);
  EXPECT_EQ(segs[0].begin, 0u);
  EXPECT_EQ(segs[0].end, d.text.size());
  EXPECT_TRUE(segs[0].scores.empty());
}

TEST(Document, EachKindOfBadRecordIsAnErrorNamingTheRecord) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"([1, 2])", "not a JSON object"},
      {R"({"id": "x"})", "missing field \"text\""},
      {R"({"text": 5})", "must be a string"},
      {R"({"text": "ab", "id": [1]})", "\"id\""},
      {R"({"text": "ab", "tagged": "yes"})", "tagged"},
      {R"({"text": "ab", "meta": 3})", "meta"},
      {R"({"text": "ab", "meta": {"k": 1}, "k": 2})", "both"},
      {R"({"text": "ab", "segments": {}})", "array"},
      {R"({"text": "ab", "segments": [3]})", "not an object"},
      {R"({"text": "ab", "segments": [{"start": 1, "end": 2}]})", "expected 0"},
      {R"({"text": "ab", "segments": [{"start": 0, "end": 1}, {"start": 0, "end": 2}]})", "expected 1"},
      {R"({"text": "abc", "segments": [{"start": 0, "end": 1}, {"start": 2, "end": 3}]})", "expected 1"},
      {R"({"text": "ab", "segments": [{"start": 0, "end": 1}]})", "cover 1 of 2"},
      {R"({"text": "ab", "segments": [{"start": 0, "end": 3}]})", "past the end"},
      {R"({"text": "ab", "segments": [{"start": 0, "end": 0}]})", "empty"},
      {R"({"text": "ab", "segments": [{"start": 0, "end": -2}]})", "non-negative"},
      {R"({"text": "ab", "segments": [{"start": 0, "end": 1.5}]})", "non-negative"},
      {R"({"text": "ab", "segments": [{"end": 2}]})", "missing field \"start\""},
      {R"({"text": "\u00e9", "segments": [{"start": 0, "end": 1}, {"start": 1, "end": 2}]})", "UTF-8"},
      {R"({"text": "ab", "segments": [{"start": 0, "end": 2, "scores": [1]}]})", "scores"},
      {R"({"text": "ab", "segments": [{"start": 0, "end": 2, "scores": {"p": "hi"}}]})", "not a number"},
      {R"({"text": "ab", "segments": [{"start": 0, "end": 2, "scores": {"p": 1e39}}]})", "finite"},
      {R"({"text": "ab", "segments": [{"start": 0, "end": 1, "scores": {"p": 1}},)"
       R"( {"start": 1, "end": 2, "scores": {"q": 1}}]})", "lacks score category \"p\""},
      {R"({"text": "ab", "segments": [{"start": 0, "end": 1, "scores": {"p": 1}},)"
       R"( {"start": 1, "end": 2, "scores": {"p": 1, "q": 1}}]})", "categories"},
  };
  for (const auto& [record, expect] : cases) {
    Error e = error_of([&] { document_from_json(json::parse(record), "in.jsonl:7"); });
    EXPECT_EQ(e.where().rfind("in.jsonl:7", 0), 0u) << record << " -> " << e.what();
    EXPECT_NE(std::string(e.what()).find(expect), std::string::npos) << record << " -> " << e.what();
  }
}

TEST(Reader, BadRecordsStopOrAreCountedWithSkipBad) {
  std::string dir = prealign::testing::temp_dir();
  std::string path = dir + "/c.jsonl";
  write(path, std::string(kGood) + "\n" +             // 1 good
                  "{\"text\": \"unterminated\n" +     // 2 invalid JSON
                  "\n" +                              // 3 blank: ignored
                  R"({"text": "ok", "id": "b"})" "\n"  // 4 good
                  R"({"text": ""})" "\n"               // 5 empty document
                  R"({"txt": "x"})" "\n"               // 6 missing text
                  "{\"text\": \"bad \xff byte\"}\n"    // 7 invalid UTF-8
                  R"({"text": "last", "id": "c"})");   // 8 good, no final newline
  CorpusReadOptions o;
  Error e = error_of([&] { read_all({path}, o); });
  EXPECT_EQ(e.where(), path + ":2") << e.what();
  EXPECT_NE(std::string(e.what()).find("invalid JSON"), std::string::npos);

  o.skip_bad = true;
  CorpusReadStats st;
  auto docs = read_all({path}, o, &st);
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[0].id, "a.py");
  EXPECT_EQ(docs[1].id, "b");
  EXPECT_EQ(docs[2].id, "c");
  EXPECT_EQ(docs[1].where, path + ":4");
  EXPECT_EQ(st.documents, 3u);
  EXPECT_EQ(st.bytes, docs[0].text.size() + docs[1].text.size() + docs[2].text.size());
  EXPECT_EQ(st.skipped, 4u);
  EXPECT_EQ(st.empty, 1u);
  ASSERT_EQ(st.first_errors.size(), 4u);
  EXPECT_NE(st.first_errors[0].find(path + ":2"), std::string::npos);
  EXPECT_NE(st.first_errors[1].find(path + ":5"), std::string::npos);
  EXPECT_NE(st.first_errors[2].find(path + ":6"), std::string::npos);
  EXPECT_NE(st.first_errors[3].find(path + ":7"), std::string::npos);
  EXPECT_NE(st.first_errors[3].find("UTF-8 at byte 14"), std::string::npos) << st.first_errors[3];
}

TEST(Reader, KeepsOnlyTheFirstTwentyMessages) {
  std::string dir = prealign::testing::temp_dir();
  std::string bad;
  for (int i = 0; i < 50; ++i) bad += "nope\n";
  write(dir + "/b.jsonl", bad + R"({"text": "fine"})" "\n");
  CorpusReadOptions o;
  o.skip_bad = true;
  CorpusReadStats st;
  auto docs = read_all({dir + "/b.jsonl"}, o, &st);
  EXPECT_EQ(docs.size(), 1u);
  EXPECT_EQ(st.skipped, 50u);
  EXPECT_EQ(st.first_errors.size(), 20u);
}

TEST(Reader, OverlongLinesAreBadRecordsAndReadingGoesOn) {
  std::string dir = prealign::testing::temp_dir();
  std::string path = dir + "/long.jsonl";
  std::string big = "{\"text\": \"" + std::string(5000, 'x') + "\"}";
  std::string huge = "{\"text\": \"" + std::string(700000, 'y') + "\"}";  // spans several read chunks
  write(path, R"({"text": "one"})" "\n" + big + "\n" + R"({"text": "three"})" "\n" + huge + "\n" +
                  R"({"text": "five"})" "\n" + big);  // over-long last line without newline
  CorpusReadOptions o;
  o.max_line_bytes = 1000;
  Error e = error_of([&] { read_all({path}, o); });
  EXPECT_EQ(e.where(), path + ":2");
  EXPECT_NE(std::string(e.what()).find("longer than 1000"), std::string::npos);

  o.skip_bad = true;
  CorpusReadStats st;
  auto docs = read_all({path}, o, &st);
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[0].text, "one");
  EXPECT_EQ(docs[1].text, "three");
  EXPECT_EQ(docs[1].where, path + ":3");
  EXPECT_EQ(docs[2].text, "five");
  EXPECT_EQ(docs[2].where, path + ":5");
  EXPECT_EQ(st.skipped, 3u);

  o.max_line_bytes = 1 << 20;  // a limit above the longest line reads everything
  o.skip_bad = false;
  EXPECT_EQ(read_all({path}, o).size(), 6u);
}

TEST(Reader, InvalidUtf8InATextFileNamesLineAndByte) {
  std::string dir = prealign::testing::temp_dir();
  write(dir + "/t.txt", "line one\nline two \xC3\x28 here\n");
  Error e = error_of([&] { read_all({dir + "/t.txt"}, CorpusReadOptions{}); });
  EXPECT_EQ(e.where(), dir + "/t.txt:2");
  EXPECT_NE(std::string(e.what()).find("byte 18"), std::string::npos) << e.what();
}

TEST(Reader, EmptyFilesAndNulBytes) {
  std::string dir = prealign::testing::temp_dir();
  write(dir + "/empty.jsonl", "");
  write(dir + "/empty.txt", "");
  write(dir + "/nul.txt", std::string("a\0b\n", 4));
  write(dir + "/nul.jsonl", R"({"text": "x\u0000y"})" "\n");
  CorpusReadOptions o;
  CorpusReadStats st;
  EXPECT_TRUE(read_all({dir + "/empty.jsonl"}, o, &st).empty());  // no records is not an error
  EXPECT_EQ(st.skipped, 0u);
  Error e = error_of([&] { read_all({dir + "/empty.txt"}, o); });
  EXPECT_NE(std::string(e.what()).find("empty document"), std::string::npos);
  // NUL is valid UTF-8: kept as text
  auto docs = read_all({dir + "/nul.txt", dir + "/nul.jsonl"}, o);
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].text, std::string("a\0b\n", 4));
  EXPECT_EQ(docs[0].id, dir + "/nul.txt");
  EXPECT_EQ(docs[1].text, std::string("x\0y", 3));
  o.skip_bad = true;
  read_all({dir + "/empty.txt"}, o, &st);
  EXPECT_EQ(st.empty, 1u);
  EXPECT_EQ(st.skipped, 1u);
}

TEST(Reader, GzipIsReadTransparently) {
  std::string dir = prealign::testing::temp_dir();
  std::string plain = std::string(kGood) + "\n" + R"({"text": "second", "id": 42})" "\n";
  write(dir + "/p.jsonl", plain);
  gzFile g = gzopen((dir + "/z.jsonl.gz").c_str(), "wb");
  ASSERT_TRUE(g);
  gzwrite(g, plain.data(), static_cast<unsigned>(plain.size()));
  gzclose(g);
  auto a = read_all({dir + "/p.jsonl"}, CorpusReadOptions{});
  auto b = read_all({dir + "/z.jsonl.gz"}, CorpusReadOptions{});
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(a[i].text, b[i].text);
    EXPECT_EQ(a[i].id, b[i].id);
    EXPECT_EQ(a[i].segments.size(), b[i].segments.size());
  }
  EXPECT_EQ(b[1].id, "42");
  // a truncated gzip file is an Error, or one skipped file
  std::string bytes;
  {
    std::ifstream in(dir + "/z.jsonl.gz", std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  write(dir + "/cut.jsonl.gz", bytes.substr(0, bytes.size() / 2));
  CorpusReadOptions o;
  o.skip_bad = true;
  CorpusReadStats st;
  read_all({dir + "/cut.jsonl.gz"}, o, &st);
  EXPECT_GE(st.skipped, 1u);
}

TEST(Reader, DirectoryAndGlob) {
  std::string dir = prealign::testing::temp_dir();
  write(dir + "/tree/b.py", "b = 2\n");
  write(dir + "/tree/a.py", "a = 1\n");
  write(dir + "/tree/sub/c.py", "c = 3\n");
  write(dir + "/tree/notes.txt", "not python\n");
  write(dir + "/tree/.git/x.py", "hidden\n");
  write(dir + "/tree/.h.py", "hidden\n");
  auto files = expand_inputs({dir + "/tree"}, "*.py");
  EXPECT_EQ(files, (std::vector<std::string>{dir + "/tree/a.py", dir + "/tree/b.py", dir + "/tree/sub/c.py"}));
  CorpusReadOptions o;
  o.glob = "*.py";
  auto docs = read_all({dir + "/tree", dir + "/tree/notes.txt"}, o);
  ASSERT_EQ(docs.size(), 4u);
  EXPECT_EQ(docs[0].id, dir + "/tree/a.py");
  EXPECT_EQ(docs[2].text, "c = 3\n");
  EXPECT_EQ(docs[3].id, dir + "/tree/notes.txt");  // explicit files ignore the glob
  EXPECT_NE(std::string(error_of([&] { expand_inputs({dir + "/nope"}, "*"); }).what()).find("no such"),
            std::string::npos);
  EXPECT_NE(std::string(error_of([&] { expand_inputs({dir + "/tree"}, "*.rs"); }).what()).find("no files match"),
            std::string::npos);
  o.format = "xml";
  EXPECT_THROW(read_all({dir + "/tree"}, o), Error);
}

TEST(Reader, ReadsRealPythonFilesLikeTheFilesystemSays) {
  const std::string root = "/usr/lib/python3.11/json";
  if (!fs::is_directory(root)) GTEST_SKIP() << "no " << root;
  uint64_t n = 0, bytes = 0;
  for (auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file() && e.path().extension() == ".py") ++n, bytes += e.file_size();
  CorpusReadOptions o;
  o.glob = "*.py";
  CorpusReadStats st;
  auto docs = read_all({root}, o, &st);
  EXPECT_EQ(docs.size(), n);
  EXPECT_EQ(st.bytes, bytes);
  for (auto& d : docs) EXPECT_EQ(d.text.size(), fs::file_size(d.id));
}

TEST(Reader, CustomFieldNames) {
  std::string dir = prealign::testing::temp_dir();
  write(dir + "/c.jsonl", R"({"content": "body", "path": "p/q.py", "text": "other"})" "\n");
  CorpusReadOptions o;
  o.text_field = "content";
  o.id_field = "path";
  auto docs = read_all({dir + "/c.jsonl"}, o);
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].text, "body");
  EXPECT_EQ(docs[0].id, "p/q.py");
  EXPECT_EQ(docs[0].meta.at("text"), "other");
}

TEST(Reader, RandomlyMutatedRecordsNeverCrash) {
  std::string dir = prealign::testing::temp_dir();
  std::mt19937 rng(7);
  std::string all;
  const std::string base = kGood;
  int n = 3000;
  for (int i = 0; i < n; ++i) {
    std::string s = base;
    for (int k = 0; k < 1 + int(rng() % 3); ++k) {
      size_t pos = rng() % s.size();
      switch (rng() % 3) {
        case 0: s[pos] = char(rng() % 256); break;
        case 1: s.erase(pos, 1 + rng() % 8); break;
        default: s.insert(pos, 1, "{}[]\",:0123456789e-"[rng() % 19]);
      }
    }
    for (char& c : s)
      if (c == '\n') c = ' ';
    all += s + "\n";
  }
  write(dir + "/fuzz.jsonl", all);
  CorpusReadOptions o;
  o.skip_bad = true;
  CorpusReadStats st;
  auto docs = read_all({dir + "/fuzz.jsonl"}, o, &st);
  EXPECT_EQ(st.documents + st.skipped, uint64_t(n));
  EXPECT_GT(st.skipped, 100u);
  for (auto& d : docs) {  // whatever got through is a consistent document
    auto segs = covering_segments(d);
    EXPECT_EQ(segs.front().begin, 0u);
    EXPECT_EQ(segs.back().end, d.text.size());
  }
}

TEST(Reader, ShardsSplitRecordsAcrossFilesAndLeaveOthersUnread) {
  const std::string dir = prealign::testing::temp_dir();
  // records 0-2 in a.jsonl (record 1 is bad JSON), record 3 is t.txt, records 4-5 in b.jsonl
  write(dir + "/a.jsonl", "{\"text\": \"r0\"}\n\n{broken\n{\"text\": \"r2\"}\n");
  write(dir + "/t.txt", "r3");
  write(dir + "/b.jsonl", "{\"text\": \"r4\"}\n{\"text\": \"r5\"}\n");
  const std::vector<std::string> inputs = {dir + "/a.jsonl", dir + "/t.txt", dir + "/b.jsonl"};
  std::vector<std::string> all;
  uint64_t skipped = 0;
  for (uint64_t i = 0; i < 2; ++i) {
    CorpusReadOptions o;
    o.shard_index = i;
    o.shard_count = 2;
    o.skip_bad = true;
    CorpusReadStats st;
    for (const Document& d : read_all(inputs, o, &st)) {
      all.push_back(d.text);
      const int number = d.text[1] - '0';
      EXPECT_EQ(static_cast<uint64_t>(number) % 2, i) << d.text;
    }
    EXPECT_EQ(st.records, 6u);  // the blank line is not a record
    EXPECT_EQ(st.other_shards, 3u);
    skipped += st.skipped;
  }
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<std::string>{"r0", "r2", "r3", "r4", "r5"}));
  EXPECT_EQ(skipped, 1u);  // the bad record is seen by its own shard only
  CorpusReadOptions bad;
  bad.shard_index = 2;
  bad.shard_count = 2;
  EXPECT_THROW(read_all(inputs, bad), Error);
}

TEST(Reader, ReportsProgressInFileBytes) {
  const std::string dir = prealign::testing::temp_dir();
  std::string body;
  for (int i = 0; i < 1000; ++i) body += "{\"text\": \"record number " + std::to_string(i) + "\"}\n";
  write(dir + "/a.jsonl", body);
  CorpusReadOptions o;
  std::vector<uint64_t> seen;
  o.on_progress = [&](uint64_t n) { seen.push_back(n); };
  read_all({dir + "/a.jsonl"}, o);
  ASSERT_EQ(seen.size(), 1000u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(seen.back(), body.size());
  EXPECT_TRUE(is_jsonl_input("x.ndjson.gz", "auto"));
  EXPECT_FALSE(is_jsonl_input("x.json", "auto"));
  EXPECT_TRUE(is_jsonl_input("x.txt", "jsonl"));
}
