// filter, unlikelihood, rwr and awr: losses against values written out by hand,
// plans on a real dataset, and each objective trained, resumed and fine-tuned.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"
#include "dataset_fixture.hpp"
#include "model/checkpoint.hpp"
#include "train/objectives.hpp"
#include "train/trainer.hpp"

using namespace prealign;

namespace {

// B=1, T=2, V=3 logits and targets shared by the loss tests.
torch::Tensor logits() { return torch::tensor({1.0f, 2.0f, 0.5f, -1.0f, 0.0f, 3.0f}).view({1, 2, 3}); }
torch::Tensor targets() { return torch::tensor({0, 2}, torch::kInt64).view({1, 2}); }
double softmax_at(std::vector<double> l, int k) {
  double s = 0;
  for (double x : l) s += std::exp(x);
  return std::exp(l[static_cast<size_t>(k)]) / s;
}
const double p0 = softmax_at({1.0, 2.0, 0.5}, 0), p1 = softmax_at({-1.0, 0.0, 3.0}, 2);

}  // namespace

TEST(Unlikelihood, GoodTokensGetLikelihoodBadTokensUnlikelihood) {
  auto label = torch::tensor({int8_t(kLabelGood), int8_t(kLabelBad)}, torch::kInt8).view({1, 2});
  double expected = (-std::log(p0) - 0.5 * std::log(1 - p1)) / 2;
  EXPECT_NEAR(unlikelihood_loss(logits(), targets(), label, 0.5).item<double>(), expected, 1e-6);
  // Unlabelled tokens (BOS/EOS of an unscored document) are treated as good.
  auto none = torch::tensor({int8_t(kLabelNone), int8_t(kLabelNone)}, torch::kInt8).view({1, 2});
  EXPECT_NEAR(unlikelihood_loss(logits(), targets(), none, 0.5).item<double>(), (-std::log(p0) - std::log(p1)) / 2,
              1e-6);
}

TEST(Unlikelihood, ACertainBadTokenIsClampedNotInfinite) {
  auto l = torch::tensor({0.0f, 100.0f}).view({1, 1, 2});  // p(target) == 1 in float
  auto t = torch::tensor({1}, torch::kInt64).view({1, 1});
  auto bad = torch::tensor({int8_t(kLabelBad)}, torch::kInt8).view({1, 1});
  EXPECT_NEAR(unlikelihood_loss(l, t, bad, 1.0).item<double>(), -std::log(1e-20), 1e-3);
}

TEST(Rwr, TokensAreWeightedByExpOfMinusScoreOverBeta) {
  auto score = torch::tensor({0.0f, 0.5f}).view({1, 2});
  double expected = (-std::log(p0) - std::exp(-0.5 / 0.25) * std::log(p1)) / 2;
  EXPECT_NEAR(rwr_loss(logits(), targets(), score, 0.25, 1000).item<double>(), expected, 1e-6);
  // A negative score (a reward) is clamped at max_weight.
  auto reward = torch::tensor({-10.0f, 0.0f}).view({1, 2});
  EXPECT_NEAR(rwr_loss(logits(), targets(), reward, 1.0, 1000).item<double>(),
              (-1000 * std::log(p0) - std::log(p1)) / 2, 1e-3);
}

TEST(Awr, AdvantageWeightsAndValueLossByHand) {
  auto score = torch::tensor({0.0f, 0.5f}).view({1, 2});
  auto value = torch::tensor({0.1f, -0.2f}).view({1, 2}).requires_grad_(true);
  AwrLoss a = awr_loss(logits(), targets(), score, value, 0.05, 1.0, 1000);
  // r = (0, -0.5); A = r - V = (-0.1, -0.3)
  double wce = (-std::exp(-0.1) * std::log(p0) - std::exp(-0.3) * std::log(p1)) / 2;
  double mse = (0.1 * 0.1 + 0.3 * 0.3) / 2;
  EXPECT_NEAR(a.weighted_ce.item<double>(), wce, 1e-6);
  EXPECT_NEAR(a.value_mse.item<double>(), mse, 1e-6);
  EXPECT_NEAR(a.loss.item<double>(), 0.05 * wce + 0.95 * mse, 1e-6);
  // The value gets gradient from the MSE only (weights use a detached V).
  a.loss.backward();
  EXPECT_NEAR(value.grad()[0][0].item<double>(), 0.95 * 2 * 0.1 / 2, 1e-6);
  EXPECT_NEAR(value.grad()[0][1].item<double>(), 0.95 * 2 * 0.3 / 2, 1e-6);
  // Weights clamp at max_weight.
  auto big = torch::tensor({-20.0f, 0.0f}).view({1, 2});
  EXPECT_NEAR(awr_loss(logits(), targets(), big, torch::zeros({1, 2}), 1, 1, 50).weights[0][0].item<double>(), 50,
              1e-4);
}

namespace {

class PhfObjectiveTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(prealign::testing::temp_dir());
    data_ = new std::string(prealign::testing::make_scored_dataset(*dir_, 200));
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
    o.steps = 12;
    o.batch_size = 4;
    o.seq_len = 32;
    o.lr = 3e-3;
    o.eval_every = 0;
    o.eval_batches = 2;
    o.log_every = 1000;
    o.objective.name = objective;
    return o;
  }
  static std::string* dir_;
  static std::string* data_;
};
std::string* PhfObjectiveTest::dir_ = nullptr;
std::string* PhfObjectiveTest::data_ = nullptr;

}  // namespace

TEST_F(PhfObjectiveTest, FilterKeepsExactlyTheDocumentsAtOrUnderTheThreshold) {
  Dataset data = Dataset::open(*data_);
  Tokenizer tok = Tokenizer::load_dir(*data_);
  ObjectiveOptions o;
  o.name = "filter";
  o.filter_threshold = "0.02";  // fixture lines score 0 or 0.1: keeps documents with <= 20% bad lines
  auto obj = make_objective(o, data, tok, torch::kCPU, 32);
  const Shard& shard = *data.train.front();
  int kept = 0, expected_kept = 0;
  for (uint64_t d = 0; d < shard.n_docs(); ++d) {
    DocumentPlan plan;
    obj->plan(DocumentView{&shard, d, 0}, plan);
    double sum = 0;
    const uint64_t b = shard.doc_segment_begin(d), e = shard.doc_segment_end(d);
    for (uint64_t s = b; s < e; ++s) sum += shard.segment_scores(s)[0];
    bool expect = sum / double(e - b) <= 0.02 + 1e-7;
    EXPECT_EQ(plan.keep, expect) << "document " << d;
    kept += plan.keep;
    expected_kept += expect;
    for (const auto& sp : plan.segments) EXPECT_TRUE(sp.prefix.empty());  // filter inserts no tags
  }
  EXPECT_GT(kept, 0);
  EXPECT_LT(kept, static_cast<int>(shard.n_docs()));
  // A percentile threshold keeps that fraction of the training documents.
  o.filter_threshold = "p50";
  auto median = make_objective(o, data, tok, torch::kCPU, 32);
  double kept_fraction = median->describe().at("kept_documents_fraction").get<double>();
  EXPECT_GE(kept_fraction, 0.5);
  EXPECT_LT(kept_fraction, 0.8);
}

TEST_F(PhfObjectiveTest, EveryObjectiveTrainsToAFiniteFallingLoss) {
  for (const char* name : {"filter", "unlikelihood", "rwr", "awr"}) {
    TrainOptions o = options(std::string("train-") + name, name);
    o.steps = 30;
    TrainResult r = train(o);
    ASSERT_EQ(r.losses.size(), 30u) << name;
    for (double l : r.losses) ASSERT_TRUE(std::isfinite(l)) << name;
    EXPECT_LT(r.losses.back(), r.losses.front()) << name;
    EXPECT_TRUE(std::isfinite(r.val_loss)) << name;
  }
}

TEST_F(PhfObjectiveTest, AwrResumesWithItsValueHead) {
  TrainOptions straight = options("awr-straight", "awr");
  TrainResult all = train(straight);
  TrainOptions first = options("awr-split", "awr");
  first.stop_after = 6;
  train(first);
  TrainOptions second = options("awr-split", "awr");
  second.resume = true;
  TrainResult b = train(second);
  ASSERT_EQ(b.losses.size(), 6u);
  for (size_t i = 0; i < 6; ++i) EXPECT_NEAR(b.losses[i], all.losses[6 + i], 1e-4) << "step " << 6 + i;
  LoadedCheckpoint ck = load_checkpoint(all.checkpoint, torch::kCPU);
  ASSERT_TRUE(ck.extra.count("value_head.weight"));
  EXPECT_EQ(ck.extra.at("value_head.weight").size(1), 32);
}

TEST_F(PhfObjectiveTest, FineTuningFromMleStartsTagRowsAtTheMeanEmbedding) {
  TrainOptions pre = options("ft-mle", "mle");
  TrainResult mle = train(pre);
  LoadedCheckpoint base = load_checkpoint(mle.checkpoint, torch::kCPU);
  Tokenizer tok = Tokenizer::load_dir(*data_);
  const int good = tok.tag_id("<|good|>"), bad = tok.tag_id("<|bad|>");
  std::map<std::string, torch::Tensor> before;
  for (auto& [n, t] : base.model->hf_tensors()) before[n] = t.clone();
  const auto& emb = before.at("model.embed_tokens.weight");  // (V, C)
  auto mask = torch::ones({emb.size(0)}, torch::kBool);
  mask[good] = false;
  mask[bad] = false;
  auto mean = emb.index({mask}).mean(0);
  // Zero steps of training are impossible; one step at a tiny lr moves rows by ~lr.
  TrainOptions ft = options("ft-cond", "conditional");
  ft.init_from = mle.checkpoint;
  ft.steps = 1;
  ft.lr = 1e-7;
  TrainResult r = train(ft);
  LoadedCheckpoint tuned = load_checkpoint(r.checkpoint, torch::kCPU);
  std::map<std::string, torch::Tensor> after;
  for (auto& [n, t] : tuned.model->hf_tensors()) after[n] = t;
  const auto& emb2 = after.at("model.embed_tokens.weight");
  for (int tag : {good, bad}) {
    double dist = (emb2[tag] - mean).abs().max().item<double>();
    EXPECT_LT(dist, 0.06) << "tag row " << tag << " is the mean plus small noise";
    EXPECT_GT(dist, 0.0);
  }
  // Text rows keep the MLE weights.
  const int text_row = 100;
  EXPECT_LT((emb2[text_row] - emb[text_row]).abs().max().item<double>(), 1e-5);
  EXPECT_EQ(tuned.train_state.at("objective").at("name"), "conditional");
}

// A fine-tuning run resumed half-way continues its own weights: the same losses
// as the straight run, not a restart from the --init-from checkpoint.
TEST_F(PhfObjectiveTest, FineTuningRunResumesItsOwnWeights) {
  TrainResult mle = train(options("ftr-mle", "mle"));
  TrainOptions straight = options("ftr-straight", "conditional");
  straight.init_from = mle.checkpoint;
  TrainResult all = train(straight);
  TrainOptions first = options("ftr-split", "conditional");
  first.init_from = mle.checkpoint;
  first.stop_after = 6;
  train(first);
  TrainOptions second = options("ftr-split", "conditional");
  second.resume = true;
  TrainResult b = train(second);
  ASSERT_EQ(b.losses.size(), all.losses.size() - 6);
  for (size_t i = 0; i < b.losses.size(); ++i) EXPECT_NEAR(b.losses[i], all.losses[6 + i], 1e-4) << "step " << 6 + i;
  // Asking for both is still refused.
  TrainOptions both = options("ftr-split", "conditional");
  both.resume = true;
  both.init_from = mle.checkpoint;
  EXPECT_THROW(train(both), Error);
}
