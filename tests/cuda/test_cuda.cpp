// "A GPU is a parameter, not a port": the model, training (fp32 and bf16
// autocast, AWR's value head), decoding under a policy and evaluation on
// --device cuda give what they give on the CPU. Every test here needs CUDA and
// is reported by ctest as skipped where torch::cuda::is_available() is false;
// scripts/gpu_check.sh runs them (ctest -L cuda) on a CUDA machine.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "decode/generator.hpp"
#include "eval/heldout_eval.hpp"
#include "model/checkpoint.hpp"
#include "model/llama.hpp"
#include "model/matmul.hpp"
#include "train/dataset_fixture.hpp"
#include "train/trainer.hpp"

using namespace prealign;

namespace {

#define REQUIRE_CUDA() \
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device (torch::cuda::is_available() is false)"

class Cuda : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!torch::cuda::is_available()) return;
    dir_ = new std::string(prealign::testing::temp_dir());
    data_ = new std::string(prealign::testing::make_scored_dataset(*dir_));
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete data_;
  }
  static TrainOptions options(const std::string& out, const std::string& device, const std::string& objective) {
    TrainOptions o;
    o.data = *data_;
    o.out = *dir_ + "/" + out;
    o.model = "dim=64,layers=2,heads=4,ctx=32";
    o.steps = 20;
    o.batch_size = 4;
    o.seq_len = 32;
    o.lr = 3e-3;
    o.eval_every = 0;
    o.eval_batches = 4;
    o.device = device;
    o.objective.name = objective;
    return o;
  }
  static std::string* dir_;
  static std::string* data_;
};
std::string* Cuda::dir_ = nullptr;
std::string* Cuda::data_ = nullptr;

}  // namespace

TEST_F(Cuda, ForwardMatchesTheCpu) {
  REQUIRE_CUDA();
  torch::manual_seed(3);
  LlamaModel cpu(ModelConfig::parse("dim=64,layers=2,heads=4,kv_heads=2,ctx=64", 300));
  cpu->eval();
  auto tokens = torch::randint(0, 300, {2, 40}, torch::kLong);
  torch::Tensor expected = cpu->forward(tokens);
  cpu->to(torch::kCUDA);
  torch::Tensor got = cpu->forward(tokens.cuda()).cpu();
  EXPECT_LT((got - expected).abs().max().item<double>(), 1e-3);
}

TEST_F(Cuda, TrainingFollowsTheCpuRunInFp32AndBf16) {
  REQUIRE_CUDA();
  for (const char* objective : {"mle", "awr"}) {  // awr: the value head lives on the model's device too
    TrainResult cpu = train(options(std::string("cpu-") + objective, "cpu", objective));
    TrainResult gpu = train(options(std::string("gpu-") + objective, "cuda", objective));
    TrainOptions b = options(std::string("gpu-bf16-") + objective, "cuda", objective);
    b.precision = "bf16";
    TrainResult bf16 = train(b);
    ASSERT_EQ(gpu.losses.size(), cpu.losses.size());
    for (size_t i = 0; i < cpu.losses.size(); ++i) {
      EXPECT_NEAR(gpu.losses[i], cpu.losses[i], 1e-3 * std::abs(cpu.losses[i])) << objective << " step " << i + 1;
      EXPECT_NEAR(bf16.losses[i], cpu.losses[i], 0.03 * std::abs(cpu.losses[i])) << objective << " step " << i + 1;
    }
    EXPECT_NEAR(gpu.val_loss, cpu.val_loss, 1e-3 * cpu.val_loss);
  }
}

TEST_F(Cuda, GreedyDecodingUnderAPolicyMatchesTheCpu) {
  REQUIRE_CUDA();
  TrainResult r = train(options("decode", "cpu", "conditional"));
  LoadedCheckpoint cpu = load_checkpoint(r.checkpoint, torch::kCPU);
  LoadedCheckpoint gpu = load_checkpoint(r.checkpoint, torch::Device(torch::kCUDA, 0));
  Tokenizer tok = Tokenizer::load_dir(r.checkpoint);
  Policy policy = Policy::from_json(cpu.policy, TagVocabulary::of(tok), "policy");
  GenerateOptions g;
  g.greedy = true;
  g.max_new_tokens = 24;
  Generation a = Generator(cpu.model, tok, policy).generate("alpha = ", g);
  Generation b = Generator(gpu.model, tok, policy).generate("alpha = ", g);
  ASSERT_EQ(a.tokens.size(), b.tokens.size());
  for (size_t i = 0; i < a.tokens.size(); ++i) {
    EXPECT_EQ(a.tokens[i].id, b.tokens[i].id) << i;
    EXPECT_NEAR(a.tokens[i].temptation_total, b.tokens[i].temptation_total, 1e-3) << i;
  }
}

TEST_F(Cuda, HeldOutLossEvaluatesOnTheGpu) {
  REQUIRE_CUDA();
  TrainResult r = train(options("eval", "cpu", "conditional"));
  LossEvalOptions o;
  o.model = r.checkpoint;
  o.out = *dir_ + "/loss-cpu.json";
  ordered_json cpu = run_loss_eval(o);
  o.device = "cuda";
  o.out = *dir_ + "/loss-gpu.json";
  ordered_json gpu = run_loss_eval(o);
  EXPECT_NEAR(gpu.at("loss").get<double>(), cpu.at("loss").get<double>(), 1e-4);
}
