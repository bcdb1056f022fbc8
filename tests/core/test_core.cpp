#include <gtest/gtest.h>
#include <iconv.h>

#include <fstream>
#include <random>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/lines.hpp"
#include "core/utf8.hpp"
#include "test_util.hpp"

using namespace prealign;

TEST(Utf8, AcceptsValidRejectsInvalid) {
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("caf\xC3\xA9 \xE4\xB8\xAD \xF0\x9F\x98\x80"));
  size_t off = 99;
  EXPECT_FALSE(is_valid_utf8("ab\xC3", &off));
  EXPECT_EQ(off, 2u);
  EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_TRUE(is_valid_utf8(std::string("a\0b", 3)));
}

// glibc's iconv as the independent encoder: UTF-32LE -> UTF-8.
std::string iconv_utf8(char32_t cp) {
  iconv_t cd = iconv_open("UTF-8", "UTF-32LE");
  EXPECT_NE(cd, reinterpret_cast<iconv_t>(-1));
  unsigned char in[4] = {static_cast<unsigned char>(cp), static_cast<unsigned char>(cp >> 8),
                         static_cast<unsigned char>(cp >> 16), static_cast<unsigned char>(cp >> 24)};
  char out[8] = {};
  char* ip = reinterpret_cast<char*>(in);
  char* op = out;
  size_t il = 4, ol = sizeof out;
  EXPECT_NE(iconv(cd, &ip, &il, &op, &ol), static_cast<size_t>(-1)) << std::hex << uint32_t(cp);
  iconv_close(cd);
  return std::string(out, op);
}

// A hand decoder of one well-formed sequence, to close the round trip.
char32_t decode_one(const std::string& s) {
  const auto b = [&](size_t i) { return static_cast<char32_t>(static_cast<unsigned char>(s[i])); };
  switch (s.size()) {
    case 1: return b(0);
    case 2: return (b(0) & 0x1F) << 6 | (b(1) & 0x3F);
    case 3: return (b(0) & 0x0F) << 12 | (b(1) & 0x3F) << 6 | (b(2) & 0x3F);
    default: return (b(0) & 0x07) << 18 | (b(1) & 0x3F) << 12 | (b(2) & 0x3F) << 6 | (b(3) & 0x3F);
  }
}

TEST(Utf8, EncodeRoundTripsEveryPlane) {
  ASSERT_EQ(iconv_utf8(0x20AC), "\xE2\x82\xAC");  // the reference itself: U+20AC EURO SIGN
  std::mt19937 rng(1);
  std::vector<char32_t> cps = {0, 0x7F, 0x80, 0x7FF, 0x800, 0xD7FF, 0xE000, 0xFFFF, 0x10000, 0x10FFFF};
  for (int i = 0; i < 10000; ++i) cps.push_back(rng() % 0x110000);
  for (char32_t cp : cps) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    std::string s = utf8_encode(cp);
    ASSERT_EQ(s, iconv_utf8(cp)) << std::hex << uint32_t(cp);
    EXPECT_EQ(s.size(), cp < 0x80 ? 1u : cp < 0x800 ? 2u : cp < 0x10000 ? 3u : 4u);
    EXPECT_EQ(decode_one(s), cp);
    ASSERT_TRUE(is_valid_utf8(s)) << std::hex << uint32_t(cp);
    EXPECT_EQ(utf8_length(s), 1u);
  }
}

TEST(Files, AtomicFileLeavesOldContentUntilCommit) {
  std::string dir = prealign::testing::temp_dir();
  std::string path = dir + "/out.txt";
  write_file_atomic(path, "old");
  {
    AtomicFile f(path);
    f.write("new content");
    EXPECT_EQ(read_file(path), "old");  // not visible before commit
  }  // destroyed uncommitted: abandoned
  EXPECT_EQ(read_file(path), "old");
  EXPECT_EQ(list_files(dir).size(), 1u);  // temp file cleaned up
  AtomicFile g(path);
  g.write("new");
  g.commit();
  EXPECT_EQ(read_file(path), "new");
}

TEST(Files, PublishDirectorySwapsWholeDirectory) {
  std::string dir = prealign::testing::temp_dir();
  std::string target = dir + "/ckpt";
  for (int round = 0; round < 3; ++round) {
    std::string staging = staging_directory_for(target);
    write_file_atomic(staging + "/a", std::to_string(round));
    publish_directory(staging, target);
    EXPECT_EQ(read_file(target + "/a"), std::to_string(round));
  }
  EXPECT_EQ(list_files(dir).size(), 1u);
}

TEST(Lines, ReadsLinesAndNumbersThem) {
  std::string path = prealign::testing::temp_dir() + "/x.txt";
  write_file_atomic(path, "one\ntwo\r\n\nlast");
  LineReader r(path);
  std::string line;
  std::vector<std::string> got;
  while (r.next(line)) got.push_back(line);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[1], "two\r");
  EXPECT_EQ(got[3], "last");
  EXPECT_EQ(r.line_number(), 4);
}

TEST(Lines, OversizedLineIsAnErrorNamingTheLine) {
  std::string path = prealign::testing::temp_dir() + "/big.txt";
  write_file_atomic(path, "ok\n" + std::string(3 << 20, 'x') + "\n");
  LineReader r(path, 1 << 20);
  std::string line;
  ASSERT_TRUE(r.next(line));
  try {
    r.next(line);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("big.txt:2"), std::string::npos) << e.what();
  }
}

struct DemoOptions {
  int steps = 10;
  double lr = 0.5;
  std::string name = "x";
  template <class V>
  void visit(V& v) {
    v("steps", steps, "steps");
    v("lr", lr, "learning rate");
    v("name", name, "name");
  }
};

TEST(Config, RoundTripsAndRejectsUnknownKeys) {
  DemoOptions o;
  o.steps = 7;
  auto j = config_to_json(o);
  DemoOptions p;
  config_from_json(p, json::parse(j.dump()), "cfg");
  EXPECT_EQ(p.steps, 7);
  EXPECT_THROW(config_from_json(p, json{{"stepz", 3}}, "cfg"), Error);
  EXPECT_THROW(config_from_json(p, json{{"steps", "three"}}, "cfg"), Error);
}

TEST(Utf8, MaskInvalidKeepsEveryByteOffset) {
  const std::string s = "ok \xC3 caf\xC3\xA9 \xFF\xFE end\xE4\xB8";
  const std::string m = mask_invalid_utf8(s);
  ASSERT_EQ(m.size(), s.size());
  EXPECT_TRUE(is_valid_utf8(m));
  EXPECT_EQ(m, "ok ? caf\xC3\xA9 ?? end??");
  EXPECT_EQ(mask_invalid_utf8("caf\xC3\xA9"), "caf\xC3\xA9");
}
