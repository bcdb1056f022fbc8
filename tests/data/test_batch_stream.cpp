// BatchStream against a naive reference: materialize the whole expanded token
// stream (BOS, plan prefix, per segment tag prefix + tokens, EOS) for the
// documents in the order they were visited, and slice the (T+1)-windows.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "core/error.hpp"
#include "data/batch_stream.hpp"
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
  c.doc_position = 4;
  EXPECT_THROW(bs.seek(c), Error);
  c.doc_position = 0;
  c.token_offset = 10000;
  bs.seek(c);
  Batch batch;
  EXPECT_THROW(bs.next(batch), Error);
  EXPECT_THROW(StreamCursor::from_json(json{{"epoch", 1}}, "state"), Error);
  BatchStream wrong(shards, [](const DocumentView&, DocumentPlan& p) { p.segments.clear(); }, 1, 4, 1, false);
  EXPECT_THROW(wrong.next(batch), Error);
  EXPECT_THROW(BatchStream({}, make_planner(nullptr, [](uint64_t) { return false; }), 1, 4, 1, false), Error);
  EXPECT_THROW(BatchStream(shards, make_planner(nullptr, [](uint64_t) { return false; }), 0, 4, 1, false), Error);
}
