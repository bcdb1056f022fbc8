// Training loop end to end on a small synthetic dataset: exact resume, held-out
// loss falls, conditional plans put the right tag before every segment.
#include <gtest/gtest.h>

#include "dataset_fixture.hpp"
#include "model/checkpoint.hpp"
#include "train/heldout.hpp"
#include "train/trainer.hpp"

using namespace prealign;

namespace {

class TrainerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(prealign::testing::temp_dir());
    data_ = new std::string(prealign::testing::make_scored_dataset(*dir_));
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete data_;
  }
  static TrainOptions options(const std::string& out, const std::string& objective) {
    TrainOptions o;
    o.data = *data_;
    o.out = *dir_ + "/" + out;
    o.model = "dim=32,layers=2,heads=2,ctx=32";
    o.steps = 40;
    o.batch_size = 4;
    o.seq_len = 32;
    o.lr = 3e-3;
    o.eval_every = 0;
    o.eval_batches = 4;
    o.log_every = 1000;
    o.objective.name = objective;
    return o;
  }
  static std::string* dir_;
  static std::string* data_;
};
std::string* TrainerTest::dir_ = nullptr;
std::string* TrainerTest::data_ = nullptr;

TEST_F(TrainerTest, TwentyPlusResumeTwentyEqualsFortyStraight) {
  for (const char* objective : {"mle", "conditional"}) {
    TrainOptions straight = options(std::string("straight-") + objective, objective);
    TrainResult all = train(straight);
    ASSERT_EQ(all.losses.size(), 40u);

    TrainOptions first = options(std::string("split-") + objective, objective);
    first.stop_after = 20;
    TrainResult a = train(first);
    ASSERT_EQ(a.step, 20);
    TrainOptions second = options(std::string("split-") + objective, objective);
    second.resume = true;
    TrainResult b = train(second);
    ASSERT_EQ(b.step, 40);
    ASSERT_EQ(a.losses.size() + b.losses.size(), 40u);
    for (size_t i = 0; i < 40; ++i) {
      double got = i < 20 ? a.losses[i] : b.losses[i - 20];
      EXPECT_NEAR(got, all.losses[i], 1e-6 * std::abs(all.losses[i])) << objective << " step " << i + 1;
    }
    EXPECT_NEAR(b.val_loss, all.val_loss, 1e-5);
  }
}

TEST_F(TrainerTest, LossFallsAndTheCheckpointReloadsWithTheSameHeldOutLoss) {
  TrainOptions o = options("learns", "conditional");
  o.steps = 120;
  TrainResult r = train(o);
  EXPECT_LT(r.losses.back(), 0.6 * r.losses.front());
  LoadedCheckpoint ck = load_checkpoint(r.checkpoint, torch::kCPU);
  EXPECT_EQ(ck.train_state.at("step").get<int64_t>(), 120);
  EXPECT_EQ(ck.policy.at("name"), "good_only");
  Dataset data = Dataset::open(*data_);
  Tokenizer tok = Tokenizer::load_dir(*data_);
  ObjectiveOptions oo;
  oo.name = "conditional";
  auto obj = make_objective(oo, data, tok, torch::kCPU, ck.config.dim);
  auto planner = [&](const DocumentView& d, DocumentPlan& p) { obj->plan(d, p); };
  HeldoutLoss h = heldout_loss(ck.model, data, planner, o.batch_size, o.seq_len, o.eval_batches);
  EXPECT_NEAR(h.loss, r.val_loss, 1e-5);
}

TEST_F(TrainerTest, ConditionalPlanTagsEverySegmentByItsScore) {
  Dataset data = Dataset::open(*data_);
  Tokenizer tok = Tokenizer::load_dir(*data_);
  ObjectiveOptions oo;
  oo.name = "conditional";
  oo.drop_fraction = 0.0;
  auto obj = make_objective(oo, data, tok, torch::kCPU, 32);
  const int good = tok.tag_id("<|good|>"), bad = tok.tag_id("<|bad|>");
  const Shard& shard = *data.train.front();
  size_t bad_seen = 0, segments = 0;
  for (uint64_t d = 0; d < shard.n_docs(); ++d) {
    DocumentPlan plan;
    obj->plan(DocumentView{&shard, d, shard.doc_segment_begin(d)}, plan);
    ASSERT_TRUE(plan.keep);
    for (uint64_t s = shard.doc_segment_begin(d); s < shard.doc_segment_end(d); ++s) {
      const SegmentPlan& sp = plan.segments[s - shard.doc_segment_begin(d)];
      bool is_bad = shard.segment_scores(s)[0] > 0.0f;
      ASSERT_EQ(sp.prefix, std::vector<int32_t>{is_bad ? bad : good});
      EXPECT_EQ(sp.label, is_bad ? kLabelBad : kLabelGood);
      bad_seen += is_bad;
      ++segments;
    }
  }
  EXPECT_GT(bad_seen, segments / 10);  // the fixture makes ~1 in 4 lines bad
  EXPECT_LT(bad_seen, segments / 2);
}

TEST_F(TrainerTest, MleInsertsNoTags) {
  Dataset data = Dataset::open(*data_);
  Tokenizer tok = Tokenizer::load_dir(*data_);
  auto obj = make_objective(ObjectiveOptions{}, data, tok, torch::kCPU, 32);
  DocumentPlan plan;
  const Shard& shard = *data.train.front();
  obj->plan(DocumentView{&shard, 0, 0}, plan);
  for (const auto& sp : plan.segments) EXPECT_TRUE(sp.prefix.empty());
}

TEST_F(TrainerTest, BadOptionsAreErrorsNotCrashes) {
  TrainOptions o = options("bad", "nonsense");
  EXPECT_THROW(train(o), Error);
  o = options("bad2", "mle");
  o.batch_size = 0;
  EXPECT_THROW(train(o), Error);
  o = options("bad3", "mle");
  o.resume = true;  // nothing to resume
  EXPECT_THROW(train(o), Error);
}

}  // namespace
