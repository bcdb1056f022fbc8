// Hostile corpus inputs cost one bad record in bounded memory: a line of 70,000
// nested "[" (it used to overflow the stack in every reader, even with
// --skip-bad), and text files larger than one document may be (read no further
// than the limit, so a 2 GB sparse file is not loaded).
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <fstream>

#include "core/error.hpp"
#include "corpus/reader.hpp"
#include "test_util.hpp"

using namespace prealign;

namespace {

void write(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

std::vector<Document> read_all(const std::vector<std::string>& inputs, const CorpusReadOptions& o,
                               CorpusReadStats* stats = nullptr) {
  std::vector<Document> docs;
  CorpusReadStats st = read_corpus(inputs, o, [&](Document&& d) { docs.push_back(std::move(d)); });
  if (stats) *stats = st;
  return docs;
}

}  // namespace

TEST(ReaderLimits, DeeplyNestedRecordIsOneBadRecord) {
  const std::string dir = prealign::testing::temp_dir();
  const std::string path = dir + "/deep.jsonl";
  // nested inside a field the reader copies into meta: where the stack overflowed
  write(path, R"({"text": "one"})" "\n" R"({"text": "two", "x": )" + std::string(70000, '[') +
                  std::string(70000, ']') + "}\n" R"({"text": "three"})" "\n");
  try {
    read_all({path}, CorpusReadOptions{});
    FAIL() << "the nested record was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), path + ":2");
    EXPECT_NE(std::string(e.what()).find("nested more than"), std::string::npos) << e.what();
  }
  CorpusReadOptions o;
  o.skip_bad = true;
  CorpusReadStats st;
  const auto docs = read_all({path}, o, &st);
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(docs[0].text, "one");
  EXPECT_EQ(docs[1].text, "three");
  EXPECT_EQ(st.skipped, 1u);
  ASSERT_EQ(st.first_errors.size(), 1u);
  EXPECT_NE(st.first_errors[0].find(path + ":2"), std::string::npos);
}

TEST(ReaderLimits, TextFileOverTheLimitIsABadRecord) {
  const std::string dir = prealign::testing::temp_dir();
  write(dir + "/small.txt", "short text\n");
  write(dir + "/big.txt", std::string(5000, 'x'));
  gzFile g = gzopen((dir + "/big.txt.gz").c_str(), "wb");
  ASSERT_TRUE(g);
  const std::string zeros(1 << 20, 'z');  // 1 MB that compresses to almost nothing
  ASSERT_EQ(gzwrite(g, zeros.data(), static_cast<unsigned>(zeros.size())), static_cast<int>(zeros.size()));
  gzclose(g);
  CorpusReadOptions o;
  o.max_text_file_bytes = 4096;
  for (const std::string name : {"big.txt", "big.txt.gz"}) {
    try {
      read_all({dir + "/" + name}, o);
      ADD_FAILURE() << name << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.where(), dir + "/" + name);
      EXPECT_NE(std::string(e.what()).find("longer than 4096 bytes"), std::string::npos) << e.what();
    }
  }
  o.skip_bad = true;
  CorpusReadStats st;
  const auto docs = read_all({dir + "/big.txt", dir + "/small.txt", dir + "/big.txt.gz"}, o, &st);
  ASSERT_EQ(docs.size(), 1u);
  EXPECT_EQ(docs[0].text, "short text\n");
  EXPECT_EQ(st.skipped, 2u);
  o.max_text_file_bytes = 5000;  // the limit itself is allowed
  EXPECT_EQ(read_all({dir + "/big.txt"}, o).at(0).text.size(), 5000u);
}

TEST(ReaderLimits, SparseTwoGigabyteTextFileCostsBoundedMemory) {
  const std::string dir = prealign::testing::temp_dir();
  const std::string path = dir + "/sparse.txt";
  write(path, "");
  ASSERT_EQ(::truncate(path.c_str(), off_t(2) << 30), 0);  // 2 GB of NULs, no disk used
  const uint64_t before = prealign::testing::reset_peak_rss();
  CorpusReadOptions o;
  o.skip_bad = true;
  CorpusReadStats st;
  EXPECT_TRUE(read_all({path}, o, &st).empty());
  EXPECT_EQ(st.skipped, 1u);
  // the reader stopped at the 64 MiB limit: its peak is far from the 2 GB it used to load
  EXPECT_LT(prealign::testing::peak_rss() - before, uint64_t(200) << 20);
}
