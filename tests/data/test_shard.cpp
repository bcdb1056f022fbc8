// Token shards: round trip of random documents in both token widths, the
// on-disk framing checked with zlib directly, and every kind of damage refused.
#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/error.hpp"
#include "core/json_io.hpp"
#include "data/shard.hpp"
#include "test_util.hpp"

using namespace prealign;
namespace fs = std::filesystem;

namespace {

struct RefDoc {
  std::string id;
  json meta;
  std::vector<int32_t> tokens;
  std::vector<uint64_t> starts;
  std::vector<float> scores;
};

std::vector<RefDoc> random_docs(std::mt19937& rng, int n, int vocab, int n_cat) {
  std::vector<RefDoc> docs(n);
  for (int d = 0; d < n; ++d) {
    RefDoc& r = docs[d];
    r.id = "doc-" + std::to_string(d) + (d % 3 == 0 ? " \xE2\x9C\x93\n" : "");
    r.meta = {{"n", d}, {"tag", std::string(d % 5, 'x')}};
    int n_tok = int(rng() % 40);
    for (int i = 0; i < n_tok; ++i) r.tokens.push_back(int32_t(rng() % vocab));
    int n_seg = 1 + int(rng() % 4);
    r.starts.push_back(0);
    for (int s = 1; s < n_seg; ++s)
      r.starts.push_back(std::max<uint64_t>(r.starts.back(), n_tok ? rng() % (n_tok + 1) : 0));
    for (int i = 0; i < n_seg * n_cat; ++i) r.scores.push_back(float(rng() % 1000) / 7.f);
  }
  return docs;
}

void write_shard(const std::string& path, int vocab, const std::vector<std::string>& cats,
                 const std::vector<RefDoc>& docs) {
  ShardWriter w(path, vocab, cats);
  for (const RefDoc& r : docs) w.add_document(r.id, r.meta, r.tokens, r.starts, r.scores);
  EXPECT_EQ(w.documents(), docs.size());
  w.commit();
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void spit(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

void check_round_trip(int vocab, int expect_token_bytes) {
  std::string dir = prealign::testing::temp_dir();
  std::mt19937 rng(vocab);
  const std::vector<std::string> cats = {"pep8", "pii", "toxicity"};
  auto docs = random_docs(rng, 200, vocab, int(cats.size()));
  write_shard(dir + "/s.bin", vocab, cats, docs);

  auto sh = Shard::open(dir + "/s.bin");
  EXPECT_EQ(sh->vocab_size(), vocab);
  EXPECT_EQ(sh->header().at("token_bytes"), expect_token_bytes);
  EXPECT_EQ(sh->categories(), cats);
  ASSERT_EQ(sh->n_docs(), docs.size());
  uint64_t tok = 0, seg = 0;
  for (uint64_t d = 0; d < docs.size(); ++d) {
    const RefDoc& r = docs[d];
    ASSERT_EQ(sh->doc_token_begin(d), tok);
    ASSERT_EQ(sh->doc_token_end(d) - sh->doc_token_begin(d), r.tokens.size());
    for (size_t i = 0; i < r.tokens.size(); ++i) ASSERT_EQ(sh->token(tok + i), r.tokens[i]);
    ASSERT_EQ(sh->doc_segment_begin(d), seg);
    ASSERT_EQ(sh->doc_segment_end(d) - seg, r.starts.size());
    for (size_t s = 0; s < r.starts.size(); ++s) {
      uint64_t end = s + 1 < r.starts.size() ? r.starts[s + 1] : r.tokens.size();
      EXPECT_EQ(sh->segment_token_begin(seg + s), tok + r.starts[s]);
      EXPECT_EQ(sh->segment_token_end(seg + s), tok + end);
      for (size_t c = 0; c < cats.size(); ++c)
        EXPECT_EQ(sh->segment_scores(seg + s)[c], r.scores[s * cats.size() + c]);
    }
    json info = sh->doc_info(d);
    EXPECT_EQ(info.at("id"), r.id);
    EXPECT_EQ(info.at("meta"), r.meta);
    tok += r.tokens.size();
    seg += r.starts.size();
  }
  EXPECT_EQ(sh->n_tokens(), tok);
  EXPECT_EQ(sh->n_segments(), seg);
  EXPECT_EQ(sh->header().at("n_tokens"), tok);
  EXPECT_EQ(sh->header().at("n_segments"), seg);
  EXPECT_EQ(sh->header().at("version"), kShardVersion);

  // Framing, read back independently: magics, version, header length, CRC.
  std::string bytes = slurp(dir + "/s.bin");
  ASSERT_GE(bytes.size(), 32u);
  EXPECT_EQ(bytes.substr(0, 8), "PALSHARD");
  EXPECT_EQ(bytes.substr(bytes.size() - 8), "PALSEND!");
  EXPECT_EQ(bytes.size() % 8, 0u);
  uint32_t version, header_bytes, crc;
  std::memcpy(&version, bytes.data() + 8, 4);
  std::memcpy(&header_bytes, bytes.data() + 12, 4);
  std::memcpy(&crc, bytes.data() + bytes.size() - 16, 4);
  EXPECT_EQ(version, 1u);
  EXPECT_EQ(json::parse(bytes.substr(16, header_bytes)), sh->header());
  EXPECT_EQ(crc, uint32_t(crc32(0, reinterpret_cast<const Bytef*>(bytes.data()), uInt(bytes.size() - 16))));
  // tokens start right after the header, padded to 8 bytes
  size_t tokens_at = (16 + header_bytes + 7) / 8 * 8;
  int32_t first = 0;
  std::memcpy(&first, bytes.data() + tokens_at, size_t(expect_token_bytes));
  for (const RefDoc& r : docs)
    if (!r.tokens.empty()) {
      EXPECT_EQ(first, r.tokens[0]);
      break;
    }
}

template <class F>
std::string error_text(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Shard, RoundTripSmallVocabUses16BitTokens) { check_round_trip(1000, 2); }
TEST(Shard, RoundTripLargeVocabUses32BitTokens) { check_round_trip(70000, 4); }
TEST(Shard, VocabBoundary) { check_round_trip(65535, 2); }

TEST(Shard, EmptyShardAndNoCategories) {
  std::string dir = prealign::testing::temp_dir();
  ShardWriter(dir + "/e.bin", 10, {}).commit();
  auto sh = Shard::open(dir + "/e.bin");
  EXPECT_EQ(sh->n_docs(), 0u);
  EXPECT_EQ(sh->n_tokens(), 0u);
  ShardWriter w(dir + "/u.bin", 10, {});
  w.add_document("u", json::object(), {1, 2, 3}, {0}, {});
  w.commit();
  EXPECT_EQ(Shard::open(dir + "/u.bin")->n_segments(), 1u);
}

TEST(Shard, DamagedShardsAreRefusedWithTheFileNamed) {
  std::string dir = prealign::testing::temp_dir();
  std::mt19937 rng(3);
  write_shard(dir + "/good.bin", 1000, {"a", "b"}, random_docs(rng, 50, 1000, 2));
  const std::string good = slurp(dir + "/good.bin");
  const std::string p = dir + "/bad.bin";
  auto refused = [&](const std::string& bytes, const std::string& expect, bool verify = true) {
    spit(p, bytes);
    std::string msg = error_text([&] { Shard::open(p, verify); });
    EXPECT_NE(msg.find(p), std::string::npos) << msg;
    EXPECT_NE(msg.find(expect), std::string::npos) << msg;
    EXPECT_NE(msg.find("re-run prealign tokenize"), std::string::npos) << msg;
  };
  refused(good.substr(0, good.size() - 1), "truncated");
  refused(good.substr(0, good.size() / 2), "truncated");
  refused(good.substr(0, good.size() - 16), "truncated");  // trailer missing
  refused(good.substr(0, 20), "truncated");
  refused("", "truncated");
  std::string grown = good.substr(0, good.size() - 16) + std::string(8, '\0') + good.substr(good.size() - 16);
  refused(grown, "corrupt");
  std::string magic = good;
  magic[0] = 'X';
  refused(magic, "bad magic");
  std::string version = good;
  version[8] = 9;
  refused(version, "version 9");
  // A flipped bit anywhere before the trailer: CRC (or an earlier check) refuses it.
  for (size_t pos : {size_t(20), size_t(100), good.size() / 2, good.size() - 40, good.size() - 17}) {
    std::string flipped = good;
    flipped[pos] ^= 0x10;
    spit(p, flipped);
    std::string msg = error_text([&] { Shard::open(p); });
    EXPECT_NE(msg.find(p), std::string::npos) << "byte " << pos << ": " << msg;
  }
}

TEST(Shard, OffsetsAreCheckedEvenWithoutTheChecksum) {
  std::string dir = prealign::testing::temp_dir();
  ShardWriter w(dir + "/s.bin", 1000, {});
  w.add_document("a", json::object(), {5, 6, 7, 8}, {0, 2}, {});
  w.add_document("b", json::object(), {9}, {0}, {});
  w.commit();
  std::string bytes = slurp(dir + "/s.bin");
  uint32_t header_bytes;
  std::memcpy(&header_bytes, bytes.data() + 12, 4);
  size_t tokens_at = (16 + header_bytes + 7) / 8 * 8;
  size_t doc_tokens_at = (tokens_at + 5 * 2 + 7) / 8 * 8;
  uint64_t v;
  std::memcpy(&v, bytes.data() + doc_tokens_at + 8, 8);
  ASSERT_EQ(v, 4u);  // document 1 starts at token 4
  std::string bad = bytes;
  v = 7;
  std::memcpy(&bad[doc_tokens_at + 8], &v, 8);
  spit(dir + "/o.bin", bad);
  EXPECT_NE(error_text([&] { Shard::open(dir + "/o.bin", false); }).find("not monotone"), std::string::npos);
  bad = bytes;
  uint16_t big = 4000;  // outside the vocabulary
  std::memcpy(&bad[tokens_at + 2], &big, 2);
  spit(dir + "/t.bin", bad);
  EXPECT_NE(error_text([&] { Shard::open(dir + "/t.bin", false); }).find("outside the vocabulary"),
            std::string::npos);
  EXPECT_NE(error_text([&] { Shard::open(dir + "/t.bin"); }).find("CRC32"), std::string::npos);
}

TEST(Shard, WriterRejectsBadDocumentsAndLeavesNoPartialFile) {
  std::string dir = prealign::testing::temp_dir();
  {
    ShardWriter w(dir + "/s.bin", 100, {"a"});
    w.add_document("ok", json::object(), {1, 2}, {0}, {0.5f});
    EXPECT_THROW(w.add_document("x", json::object(), {1, 200}, {0}, {0.f}), Error);      // token >= vocab
    EXPECT_THROW(w.add_document("x", json::object(), {1, 2}, {1}, {0.f}), Error);        // first start != 0
    EXPECT_THROW(w.add_document("x", json::object(), {1, 2}, {0, 3}, {0.f, 0.f}), Error); // start past end
    EXPECT_THROW(w.add_document("x", json::object(), {1, 2}, {0}, {}), Error);           // scores count
    EXPECT_THROW(w.add_document("x", json::object(), {1}, {0}, {NAN}), Error);
    // destroyed without commit
  }
  EXPECT_TRUE(fs::is_empty(dir)) << "an uncommitted shard must leave nothing behind";
  {
    ShardWriter w(dir + "/s.bin", 100, {"a"});
    w.add_document("ok", json::object(), {1, 2}, {0}, {0.5f});
    w.commit();
    EXPECT_THROW(w.add_document("late", json::object(), {1}, {0}, {0.f}), Error);
  }
  EXPECT_EQ(Shard::open(dir + "/s.bin")->n_docs(), 1u);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}

TEST(Dataset, OpensAManifestAndChecksItAgainstTheShards) {
  std::string dir = prealign::testing::temp_dir();
  std::mt19937 rng(5);
  auto a = random_docs(rng, 30, 500, 1), b = random_docs(rng, 10, 500, 1);
  write_shard(dir + "/train-00000.bin", 500, {"p"}, a);
  write_shard(dir + "/val-00000.bin", 500, {"p"}, b);
  auto entry = [](const std::string& file, const std::vector<RefDoc>& docs) {
    uint64_t t = 0, s = 0;
    for (auto& r : docs) t += r.tokens.size(), s += r.starts.size();
    return json{{"file", file}, {"tokens", t}, {"documents", docs.size()}, {"segments", s}};
  };
  EXPECT_NE(error_text([&] { Dataset::open(dir); }).find("incomplete dataset"), std::string::npos);
  json m = {{"format", "prealign-dataset"}, {"version", 1}, {"categories", {"p"}},
            {"tokenizer", {{"vocab_size", 500}}}, {"train", {entry("train-00000.bin", a)}},
            {"val", {entry("val-00000.bin", b)}}};
  write_json_file(dir + "/dataset.json", m);
  Dataset ds = Dataset::open(dir);
  ASSERT_EQ(ds.train.size(), 1u);
  ASSERT_EQ(ds.val.size(), 1u);
  EXPECT_EQ(ds.train_tokens(), uint64_t(m["train"][0]["tokens"]));
  EXPECT_EQ(ds.val_tokens(), uint64_t(m["val"][0]["tokens"]));
  EXPECT_EQ(ds.categories, std::vector<std::string>{"p"});

  json wrong = m;
  wrong["train"][0]["documents"] = 31;
  write_json_file(dir + "/dataset.json", wrong);
  EXPECT_NE(error_text([&] { Dataset::open(dir); }).find("does not match"), std::string::npos);
  wrong = m;
  wrong["categories"] = {"q"};
  write_json_file(dir + "/dataset.json", wrong);
  EXPECT_NE(error_text([&] { Dataset::open(dir); }).find("categories"), std::string::npos);
  fs::remove(dir + "/val-00000.bin");
  write_json_file(dir + "/dataset.json", m);
  EXPECT_NE(error_text([&] { Dataset::open(dir); }).find("val-00000.bin"), std::string::npos);
  EXPECT_NE(error_text([&] { Dataset::open(dir + "/nope"); }).find("no such dataset"), std::string::npos);
}
