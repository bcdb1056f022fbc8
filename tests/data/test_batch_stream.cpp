// BatchStream against a naive reference: materialize the whole expanded token
// stream (BOS, plan prefix, per segment tag prefix + tokens, EOS) for the
// documents in the order they were visited, and slice the (T+1)-windows.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "core/error.hpp"
#include "core/files.hpp"
#include "data/batch_stream.hpp"
#include "data/permutation.hpp"
#include "test_util.hpp"

using namespace prealign;

namespace {

constexpr int32_t kBosId = 1, kEosId = 2, kBadTag = 4, kDocTag = 5;

std::vector<std::shared_ptr<Shard>> make_shards(const std::string& dir, int n_shards, int docs_per_shard,
                                                uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::shared_ptr<Shard>> out;
  for (int s = 0; s < n_shards; ++s) {
    std::string path = dir + "/s" + std::to_string(s) + ".bin";
    ShardWriter w(path, 1000, {"p"});
    for (int d = 0; d < docs_per_shard; ++d) {
      int n_tok = 1 + int(rng() % 25);
      std::vector<int32_t> toks;
      for (int i = 0; i < n_tok; ++i) toks.push_back(10 + int32_t(rng() % 990));  // never a special or tag id
      std::vector<uint64_t> starts = {0};
      for (int i = 1; i < n_tok; ++i)
        if (rng() % 4 == 0) starts.push_back(uint64_t(i));
      std::vector<float> scores;
      for (size_t i = 0; i < starts.size(); ++i) scores.push_back(float(rng() % 100) / 100.f);
      w.add_document("d" + std::to_string(d), json::object(), toks, starts, scores);
    }
    w.commit();
    out.push_back(Shard::open(path));
  }
  return out;
}

struct Visit {
  const Shard* shard;
  uint64_t doc, key;
  bool kept;
};

// A planner that is a pure function of the document (so a resumed stream plans
// alike): <|bad|> before segments scoring > 0.5, a document tag on every third
// key, and drop documents for which `drop(key)`.
DocumentPlanner make_planner(std::vector<Visit>* visits, std::function<bool(uint64_t)> drop) {
  return [visits, drop](const DocumentView& v, DocumentPlan& plan) {
    uint64_t s0 = v.shard->doc_segment_begin(v.doc);
    EXPECT_EQ(plan.segments.size(), v.shard->doc_segment_end(v.doc) - s0);
    plan.keep = !drop(v.global_segment);
    if (v.global_segment % 3 == 0) plan.prefix = {kDocTag};
    for (size_t i = 0; i < plan.segments.size(); ++i) {
      float s = v.shard->segment_scores(s0 + i)[0];
      plan.segments[i].score = s;
      plan.segments[i].label = s > 0.5f ? kLabelBad : kLabelGood;
      if (s > 0.5f) plan.segments[i].prefix = {kBadTag};
    }
    if (visits) visits->push_back({v.shard, v.doc, v.global_segment, plan.keep});
  };
}

struct Stream {
  std::vector<int32_t> tok;
  std::vector<float> score;
  std::vector<int8_t> label;
  std::vector<uint8_t> is_tag;
  void push(int32_t t, float s, int8_t l, uint8_t tag) {
    tok.push_back(t);
    score.push_back(s);
    label.push_back(l);
    is_tag.push_back(tag);
  }
};

// The reference expansion, written from the specification, not from the code.
Stream naive_stream(const std::vector<Visit>& visits) {
  Stream st;
  for (const Visit& v : visits) {
    if (!v.kept) continue;
    const Shard& sh = *v.shard;
    uint64_t s0 = sh.doc_segment_begin(v.doc), s1 = sh.doc_segment_end(v.doc);
    auto seg_score = [&](uint64_t s) { return sh.segment_scores(s)[0]; };
    auto seg_label = [&](uint64_t s) { return int8_t(seg_score(s) > 0.5f ? kLabelBad : kLabelGood); };
    st.push(kBosId, seg_score(s0), seg_label(s0), 0);
    if (v.key % 3 == 0) st.push(kDocTag, seg_score(s0), seg_label(s0), 1);
    for (uint64_t s = s0; s < s1; ++s) {
      if (seg_score(s) > 0.5f) st.push(kBadTag, seg_score(s), seg_label(s), 1);
      for (uint64_t t = sh.segment_token_begin(s); t < sh.segment_token_end(s); ++t)
        st.push(sh.token(t), seg_score(s), seg_label(s), 0);
    }
    st.push(kEosId, seg_score(s1 - 1), seg_label(s1 - 1), 0);
  }
  return st;
}

// Batch `b` must equal rows b*B .. b*B+B-1 of the reference: row r = stream[r*T .. r*T+T].
void expect_matches(const Batch& got, const Stream& ref, uint64_t b) {
  const int B = got.B, T = got.T;
  uint64_t bos = 0;
  for (int r = 0; r < B; ++r) {
    uint64_t start = (b * B + r) * uint64_t(T);
    ASSERT_LT(start + T, ref.tok.size());
    for (int k = 0; k < T; ++k) {
      size_t i = size_t(r) * T + k;
      ASSERT_EQ(got.inputs[i], ref.tok[start + k]) << "batch " << b << " row " << r << " col " << k;
      ASSERT_EQ(got.targets[i], ref.tok[start + k + 1]) << "batch " << b << " row " << r << " col " << k;
      ASSERT_EQ(got.score[i], ref.score[start + k + 1]);
      ASSERT_EQ(got.label[i], ref.label[start + k + 1]);
      ASSERT_EQ(got.is_tag[i], ref.is_tag[start + k + 1]);
      bos += got.inputs[i] == kBosId;
    }
  }
  EXPECT_EQ(got.documents_started, bos);
}

bool same_batch(const Batch& a, const Batch& b) {
  return a.inputs == b.inputs && a.targets == b.targets && a.score == b.score && a.label == b.label &&
         a.is_tag == b.is_tag && a.documents_started == b.documents_started;
}

}  // namespace

TEST(BatchStream, UnshuffledMatchesTheNaiveStreamInShardOrder) {
  auto shards = make_shards(prealign::testing::temp_dir(), 2, 12, 1);
  auto drop = [](uint64_t key) { return key % 5 == 1; };
  std::vector<Visit> visits;
  BatchStream bs(shards, make_planner(&visits, drop), 3, 17, 99, /*shuffle=*/false);
  // Reference order, independent of the stream: shard order, every epoch alike.
  std::vector<Visit> order;
  for (int epoch = 0; epoch < 12; ++epoch) {
    uint64_t key = 0;
    for (auto& sh : shards) {
      for (uint64_t d = 0; d < sh->n_docs(); ++d) {
        uint64_t k = key + sh->doc_segment_begin(d);
        order.push_back({sh.get(), d, k, !drop(k)});
      }
      key += sh->n_segments();
    }
  }
  Stream ref = naive_stream(order);
  Batch batch;
  for (uint64_t b = 0; b < 40; ++b) {
    bs.next(batch);
    ASSERT_EQ(batch.B, 3);
    ASSERT_EQ(batch.T, 17);
    expect_matches(batch, ref, b);
  }
  EXPECT_GE(bs.epoch(), 1u);  // 40*3*17 tokens is more than one epoch of this data
  // the planner was called once per visit, in order, dropped documents included
  ASSERT_LE(visits.size(), order.size());
  for (size_t i = 0; i < visits.size(); ++i) {
    EXPECT_EQ(visits[i].shard, order[i].shard);
    EXPECT_EQ(visits[i].doc, order[i].doc);
  }
}

TEST(BatchStream, ShuffledEpochsArePermutationsAndMatchTheNaiveStream) {
  auto shards = make_shards(prealign::testing::temp_dir(), 3, 7, 2);
  const uint64_t n_docs = 21;
  std::vector<Visit> visits;
  BatchStream bs(shards, make_planner(&visits, [](uint64_t) { return false; }), 2, 13, 7, true);
  Batch batch;
  std::vector<Batch> batches;
  for (int b = 0; b < 60; ++b) {
    bs.next(batch);
    batches.push_back(batch);
  }
  Stream ref = naive_stream(visits);
  for (uint64_t b = 0; b < batches.size(); ++b) expect_matches(batches[b], ref, b);
  // Each epoch visits every document exactly once; epochs differ from each other.
  ASSERT_GE(visits.size(), 2 * n_docs);
  std::vector<std::vector<std::pair<const Shard*, uint64_t>>> epochs;
  for (size_t e = 0; (e + 1) * n_docs <= visits.size(); ++e) {
    std::vector<std::pair<const Shard*, uint64_t>> ep;
    for (size_t i = e * n_docs; i < (e + 1) * n_docs; ++i) ep.push_back({visits[i].shard, visits[i].doc});
    std::set<std::pair<const Shard*, uint64_t>> uniq(ep.begin(), ep.end());
    EXPECT_EQ(uniq.size(), n_docs) << "epoch " << e;
    epochs.push_back(ep);
  }
  EXPECT_NE(epochs[0], epochs[1]);
  // Same seed, same order; another seed, another order.
  std::vector<Visit> again, other;
  BatchStream same(shards, make_planner(&again, [](uint64_t) { return false; }), 2, 13, 7, true);
  BatchStream diff(shards, make_planner(&other, [](uint64_t) { return false; }), 2, 13, 8, true);
  for (int b = 0; b < 10; ++b) same.next(batch), diff.next(batch);
  size_t n = std::min(again.size(), other.size());
  bool differs = false;
  for (size_t i = 0; i < n; ++i) {
    EXPECT_EQ(again[i].doc, visits[i].doc);
    EXPECT_EQ(again[i].shard, visits[i].shard);
    differs |= other[i].doc != visits[i].doc || other[i].shard != visits[i].shard;
  }
  EXPECT_TRUE(differs);
}

TEST(BatchStream, DroppedDocumentsNeverAppear) {
  auto shards = make_shards(prealign::testing::temp_dir(), 1, 20, 3);
  // Mark the kept documents' tokens: drop every document with an odd key.
  std::set<int32_t> kept_tokens, dropped_only;
  uint64_t n_kept = 0;
  for (uint64_t d = 0; d < shards[0]->n_docs(); ++d) {
    bool drop = shards[0]->doc_segment_begin(d) % 2 == 1;
    n_kept += !drop;
    for (uint64_t t = shards[0]->doc_token_begin(d); t < shards[0]->doc_token_end(d); ++t)
      (drop ? dropped_only : kept_tokens).insert(shards[0]->token(t));
  }
  for (int32_t t : kept_tokens) dropped_only.erase(t);
  ASSERT_FALSE(dropped_only.empty());
  ASSERT_GT(n_kept, 0u);
  BatchStream bs(shards, make_planner(nullptr, [](uint64_t k) { return k % 2 == 1; }), 4, 16, 1, true);
  Batch batch;
  uint64_t started = 0;
  for (int b = 0; b < 30; ++b) {
    bs.next(batch);
    started += batch.documents_started;
    for (int64_t t : batch.targets) EXPECT_EQ(dropped_only.count(int32_t(t)), 0u) << t;
  }
  EXPECT_GT(started, n_kept);  // went around more than once
}

TEST(BatchStream, EveryDocumentDroppedIsAnError) {
  auto shards = make_shards(prealign::testing::temp_dir(), 2, 3, 4);
  BatchStream bs(shards, make_planner(nullptr, [](uint64_t) { return true; }), 2, 8, 1, true);
  Batch batch;
  EXPECT_THROW(bs.next(batch), Error);
}

TEST(BatchStream, ResumeFromACursorGivesTheSameBatches) {
  auto shards = make_shards(prealign::testing::temp_dir(), 2, 9, 5);
  auto drop = [](uint64_t k) { return k % 7 == 3; };
  BatchStream straight(shards, make_planner(nullptr, drop), 3, 11, 42, true);
  std::vector<Batch> all(40);
  for (auto& b : all) straight.next(b);
  EXPECT_GE(straight.epoch(), 2u);  // the run crosses epochs

  BatchStream first(shards, make_planner(nullptr, drop), 3, 11, 42, true);
  Batch batch;
  for (int i = 0; i < 20; ++i) {
    first.next(batch);
    ASSERT_TRUE(same_batch(batch, all[i])) << i;
  }
  json saved = first.cursor().to_json();
  BatchStream resumed(shards, make_planner(nullptr, drop), 3, 11, 42, true);
  resumed.seek(StreamCursor::from_json(json::parse(saved.dump()), "train_state.json"));
  for (int i = 20; i < 40; ++i) {
    resumed.next(batch);
    ASSERT_TRUE(same_batch(batch, all[i])) << "batch " << i << " after resume";
  }
  EXPECT_EQ(resumed.cursor().to_json(), straight.cursor().to_json());
}

TEST(BatchStream, BadCursorsAndPlansAreErrors) {
  auto shards = make_shards(prealign::testing::temp_dir(), 1, 4, 6);
  BatchStream bs(shards, make_planner(nullptr, [](uint64_t) { return false; }), 1, 4, 1, false);
  StreamCursor c;
  c.sources.resize(1);
  c.sources[0].doc_position = 4;
  EXPECT_THROW(bs.seek(c), Error);
  c.sources[0].doc_position = 0;
  c.has_current = true;
  c.token_offset = 10000;
  bs.seek(c);
  Batch batch;
  EXPECT_THROW(bs.next(batch), Error);
  StreamCursor two_sources;
  two_sources.sources.resize(2);
  EXPECT_THROW(bs.seek(two_sources), Error);
  // A cursor of the older format (another document order) is refused, not misread.
  EXPECT_THROW(StreamCursor::from_json(json{{"epoch", 1}, {"doc_position", 0}, {"token_offset", 0}}, "state"), Error);
  BatchStream wrong(shards, [](const DocumentView&, DocumentPlan& p) { p.segments.clear(); }, 1, 4, 1, false);
  EXPECT_THROW(wrong.next(batch), Error);
  EXPECT_THROW(BatchStream(std::vector<std::shared_ptr<Shard>>{}, make_planner(nullptr, [](uint64_t) { return false; }), 1, 4, 1, false), Error);
  EXPECT_THROW(BatchStream(std::vector<StreamSource>{}, make_planner(nullptr, [](uint64_t) { return false; }), 1, 4, 1, false), Error);
  EXPECT_THROW(BatchStream(shards, make_planner(nullptr, [](uint64_t) { return false; }), 0, 4, 1, false), Error);
}

TEST(Permutation, IsABijectionSeededByItsKey) {
  for (uint64_t n : {1ull, 2ull, 3ull, 5ull, 17ull, 64ull, 1000ull, 4097ull}) {
    Permutation p(n, 7), q(n, 8);
    std::vector<uint64_t> seen(n, 0);
    bool differs = false;
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t v = p(i);
      ASSERT_LT(v, n);
      ++seen[v];
      differs |= v != q(i);
    }
    for (uint64_t v = 0; v < n; ++v) ASSERT_EQ(seen[v], 1u) << "n " << n << " value " << v;
    if (n >= 5) EXPECT_TRUE(differs) << n;
  }
  // Not the identity, and not a rotation: a shuffle.
  Permutation p(1000, 3);
  int fixed = 0, ascending = 0;
  for (uint64_t i = 0; i < 1000; ++i) {
    fixed += p(i) == i;
    ascending += i > 0 && p(i) == p(i - 1) + 1;
  }
  EXPECT_LT(fixed, 10);
  EXPECT_LT(ascending, 10);
}

// W ranks each taking their slice see what one process reading W batches sees,
// and all end at the same cursor: the basis of data-parallel training.
TEST(BatchStream, SlicesOfRanksAddUpToTheUnslicedStream) {
  auto shards = make_shards(prealign::testing::temp_dir(), 3, 8, 11);
  auto drop = [](uint64_t k) { return k % 5 == 2; };
  for (int world : {2, 3}) {
    BatchStream one(shards, make_planner(nullptr, drop), 2, 9, 5, true);
    std::vector<std::unique_ptr<BatchStream>> ranks;
    for (int r = 0; r < world; ++r)
      ranks.push_back(std::make_unique<BatchStream>(shards, make_planner(nullptr, drop), 2, 9, 5, true));
    Batch expected, got;
    for (int step = 0; step < 25; ++step) {
      for (int r = 0; r < world; ++r) {
        one.next(expected);
        ranks[r]->next_slice(got, r, world);
        ASSERT_TRUE(same_batch(got, expected)) << "world " << world << " step " << step << " rank " << r;
      }
      for (int r = 0; r < world; ++r) ASSERT_EQ(ranks[r]->cursor().to_json(), one.cursor().to_json());
    }
  }
}

TEST(BatchStream, SkippingRowsLandsWhereReadingThemWould) {
  auto shards = make_shards(prealign::testing::temp_dir(), 2, 6, 12);
  auto keep = [](uint64_t) { return false; };
  for (uint64_t rows : {1ull, 3ull, 7ull, 50ull}) {
    BatchStream read(shards, make_planner(nullptr, keep), 1, 10, 9, true), skip(shards, make_planner(nullptr, keep), 1, 10, 9, true);
    Batch b;
    for (uint64_t i = 0; i < rows; ++i) read.next(b);
    skip.skip_rows(rows);
    EXPECT_EQ(skip.cursor().to_json(), read.cursor().to_json()) << rows;
    Batch x, y;
    read.next(x);
    skip.next(y);
    EXPECT_TRUE(same_batch(x, y));
  }
}

TEST(BatchStream, AMixDrawsDocumentsByWeightAndEachSourceInItsOwnOrder) {
  const std::string dir = prealign::testing::temp_dir();
  make_directories(dir + "/a");
  make_directories(dir + "/b");
  auto a = make_shards(dir + "/a", 2, 30, 21), b = make_shards(dir + "/b", 1, 40, 22);
  std::vector<Visit> visits;
  auto keep = [](uint64_t) { return false; };
  std::vector<StreamSource> mix{{"a", a, 0.8}, {"b", b, 0.2}};
  BatchStream bs(mix, make_planner(&visits, keep), 4, 32, 3, true);
  Batch batch;
  uint64_t targets_a = 0, targets_b = 0;
  for (int i = 0; i < 300; ++i) {
    bs.next(batch);
    ASSERT_EQ(batch.source_targets.size(), 2u);
    ASSERT_EQ(batch.source_targets[0] + batch.source_targets[1], 4u * 32u);
    targets_a += batch.source_targets[0];
    targets_b += batch.source_targets[1];
  }
  uint64_t from_a = 0, from_b = 0;
  std::set<std::pair<const Shard*, uint64_t>> first_epoch_b;
  for (const Visit& v : visits) {
    bool is_a = v.shard == a[0].get() || v.shard == a[1].get();
    (is_a ? from_a : from_b)++;
    if (!is_a && first_epoch_b.size() < 40) EXPECT_TRUE(first_epoch_b.insert({v.shard, v.doc}).second);
  }
  ASSERT_GT(from_a + from_b, 1000u);
  EXPECT_NEAR(double(from_a) / double(from_a + from_b), 0.8, 0.03);
  EXPECT_EQ(first_epoch_b.size(), 40u);  // b's first 40 draws were its 40 documents, each once
  EXPECT_GT(targets_a, 2 * targets_b);
  // The stream of the mix is the naive expansion of its visits, and a resume continues it.
  Stream ref = naive_stream(visits);
  BatchStream again(mix, make_planner(nullptr, keep), 4, 32, 3, true);
  for (int i = 0; i < 5; ++i) again.next(batch);
  json saved = again.cursor().to_json();
  BatchStream resumed(mix, make_planner(nullptr, keep), 4, 32, 3, true);
  resumed.seek(StreamCursor::from_json(json::parse(saved.dump()), "state"));
  for (uint64_t i = 5; i < 20; ++i) {
    resumed.next(batch);
    expect_matches(batch, ref, i);
  }
}
