// Mixed precision, activation checkpointing and the memory estimate, on real
// training runs of a tiny model.
#include <gtest/gtest.h>
#include <malloc.h>

#include "dataset_fixture.hpp"
#include "model/checkpoint.hpp"
#include "model/matmul.hpp"
#include "model/safetensors.hpp"
#include "train/memory_estimate.hpp"
#include "train/mixed_precision.hpp"
#include "train/trainer.hpp"

using namespace prealign;

namespace {

class PrecisionTest : public prealign::testing::ScoredDatasetSuite {
 protected:
  static TrainOptions options(const std::string& out, const std::string& precision) {
    TrainOptions o;
    o.data = *data_;
    o.out = *dir_ + "/" + out;
    o.model = "dim=64,layers=2,heads=4,ctx=64";
    o.steps = 50;
    o.batch_size = 8;
    o.seq_len = 64;
    o.lr = 3e-3;
    o.eval_every = 0;
    o.eval_batches = 4;
    o.log_every = 1000;
    o.precision = precision;
    return o;
  }
};

double max_relative_gap(const std::vector<double>& a, const std::vector<double>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]) / std::abs(b[i]));
  return worst;
}

}  // namespace

// 50 steps in bf16 (and fp16 with loss scaling) follow the fp32 loss curve: every
// step's loss within 1.5% of fp32's (measured: bf16 0.4%, fp16 0.05%), while the
// loss itself falls by far more than that. Checkpoints stay float32.
TEST_F(PrecisionTest, LowPrecisionFollowsTheFp32LossCurve) {
  TrainResult fp32 = train(options("fp32", "fp32"));
  TrainResult bf16 = train(options("bf16", "bf16"));
  TrainResult fp16 = train(options("fp16", "fp16"));
  ASSERT_EQ(bf16.losses.size(), 50u);
  ASSERT_EQ(fp16.losses.size(), 50u);
  EXPECT_LT(fp32.losses.back(), 0.8 * fp32.losses.front());  // it learned
  EXPECT_LT(max_relative_gap(bf16.losses, fp32.losses), 0.015);
  EXPECT_LT(max_relative_gap(fp16.losses, fp32.losses), 0.015);
  EXPECT_GT(max_relative_gap(bf16.losses, fp32.losses), 1e-6);  // it did compute in bf16
  EXPECT_NEAR(bf16.val_loss, fp32.val_loss, 0.015 * fp32.val_loss);
  for (const char* run : {"bf16", "fp16"}) {
    const std::string ck = *dir_ + "/" + run + "/checkpoint";
    EXPECT_EQ(read_json_file(ck + "/config.json").at("torch_dtype"), "float32");
    SafetensorsFile f = load_safetensors(ck + "/model.safetensors");
    for (const auto& [name, t] : f.tensors) EXPECT_EQ(t.scalar_type(), torch::kFloat) << name;
  }
  // fp16 records its loss scale, and a resumed run continues it.
  std::string log = read_file(*dir_ + "/fp16/metrics.jsonl");
  EXPECT_NE(log.find("\"loss_scale\":65536"), std::string::npos);
  json state = read_json_file(*dir_ + "/fp16/checkpoint/train_state.json");
  EXPECT_EQ(state.at("loss_scaler").at("scale"), 65536.0);
}

TEST(LossScaler, HalvesOnOverflowDoublesAfterAGoodStretchAndUnscales) {
  LossScaler s(true);
  EXPECT_EQ(s.scale(), 65536.0);
  s.update(false);
  EXPECT_EQ(s.scale(), 32768.0);
  for (int i = 0; i < 1999; ++i) s.update(true);
  EXPECT_EQ(s.scale(), 32768.0);
  s.update(true);
  EXPECT_EQ(s.scale(), 65536.0);
  torch::Tensor p = torch::zeros({3}, torch::requires_grad());
  (p * torch::tensor({65536.0f, 131072.0f, -65536.0f})).sum().backward();
  s.unscale({p});
  EXPECT_TRUE(torch::allclose(p.grad(), torch::tensor({1.0f, 2.0f, -1.0f})));
  LossScaler off(false);
  EXPECT_EQ(off.scale(), 1.0);
  EXPECT_THROW(precision_dtype("fp8"), Error);
}

// Recomputing each block in backward gives the gradients of the plain pass: the
// same losses and the same weights, to float rounding.
TEST_F(PrecisionTest, GradientCheckpointingChangesNothingButMemory) {
  TrainOptions a = options("plain", "fp32"), b = options("checkpointed", "fp32");
  a.steps = b.steps = 20;
  b.grad_checkpoint = true;
  TrainResult plain = train(a), checkpointed = train(b);
  EXPECT_LT(max_relative_gap(checkpointed.losses, plain.losses), 1e-5);
  auto wa = load_safetensors(a.out + "/checkpoint/model.safetensors").tensors;
  auto wb = load_safetensors(b.out + "/checkpoint/model.safetensors").tensors;
  for (const auto& [name, t] : wa) EXPECT_LT((t - wb.at(name)).abs().max().item<double>(), 1e-5) << name;
}

// The activation estimate against what a forward pass really keeps for backward:
// the heap bytes in use after forward minus before (glibc's own count), for a
// shape where activations dominate. Plain and checkpointed, fp32 and bf16.
TEST(MemoryEstimate, ActivationsMatchWhatAForwardPassKeeps) {
  ModelConfig c = ModelConfig::parse("dim=128,layers=4,heads=4,ctx=256", 512);
  torch::manual_seed(1);
  LlamaModel model(c);
  model->train();
  const int B = 8, T = 256;
  torch::Tensor tokens = torch::randint(0, 512, {B, T}, torch::kLong);
  for (const char* precision : {"fp32", "bf16"})
    for (bool checkpoint : {false, true}) {
      model->set_grad_checkpoint(checkpoint);
      AutocastGuard autocast(precision_dtype(precision));
      const size_t before = mallinfo2().uordblks + mallinfo2().hblkhd;
      ForwardOutput out = model->forward_full(tokens);
      torch::Tensor loss = torch::nn::functional::cross_entropy(out.logits.view({-1, 512}), tokens.view({-1}));
      const double kept = double(mallinfo2().uordblks + mallinfo2().hblkhd) - double(before);
      // The estimate is the peak: checkpointed, it adds the one block recomputed in backward, not kept yet.
      const double recompute = checkpoint ? double(B) * T * activation_bytes_per_token_per_layer(c, T, precision) : 0;
      const double estimate = estimate_training_memory(c, B, T, precision, checkpoint).activations - recompute;
      EXPECT_GT(estimate, 0.8 * kept) << precision << (checkpoint ? " checkpointed" : "");
      EXPECT_LT(estimate, 1.25 * kept) << precision << (checkpoint ? " checkpointed" : "");
      std::printf("%s%s: kept %.1f MB, estimated %.1f MB\n", precision, checkpoint ? " checkpointed" : "",
                  kept / 1e6, estimate / 1e6);
      loss.backward();
      model->zero_grad();
    }
}
