// train --objective sft end to end in-process: a short run from a random
// ai_mode checkpoint lowers the held-out response loss, writes a light-touch
// report consistent with its own metrics, keeps the base's tokenizer and
// policy, and a run stopped half-way and resumed ends where an uninterrupted
// one ends.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "rl/sft_trainer.hpp"
#include "train/resume.hpp"
#include "sft_fixture.hpp"

using namespace prealign;
using namespace prealign::testing;

namespace {

class SftTrain : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(temp_dir());
    const Tokenizer tok = fixture_tokenizer(*dir_);
    save_fixture_checkpoint(*dir_ + "/base", tok, "ai_mode");
    write_pairs(*dir_ + "/pairs.jsonl", fixture_pairs(12, 5));
    write_file_atomic(*dir_ + "/seed.txt", kSeedPrompt + "\n");
  }
  static void TearDownTestSuite() { delete dir_; }

  static TrainOptions options(const std::string& out) {
    TrainOptions o;
    o.objective.name = "sft";
    o.data = *dir_ + "/pairs.jsonl";
    o.init_from = *dir_ + "/base";
    o.out = out;
    o.steps = 24;
    o.batch_size = 8;
    o.seq_len = 511;
    o.lr = 3e-3;
    o.warmup_steps = 2;
    o.log_every = 8;
    o.eval_every = 8;
    o.seed = 3;
    return o;
  }
  static SftOptions sft() {
    SftOptions s;
    s.seed_prompt = *dir_ + "/seed.txt";
    s.eval_fraction = 0.15;
    s.drift_tokens = 4;
    s.drift_prompts = 6;
    return s;
  }
  static std::set<std::string> given(const TrainOptions& o) { return fields_changed_from_defaults(o); }
  static inline std::string* dir_ = nullptr;
};

std::vector<json> records(const std::string& path, const std::string& type) {
  std::vector<json> out;
  LineReader in(path);
  for (std::string line; in.next(line);) {
    json j = json::parse(line);
    if (j["type"] == type) out.push_back(j);
  }
  return out;
}

}  // namespace

TEST_F(SftTrain, AShortRunLowersHeldOutResponseLossAndReportsItsTouch) {
  const std::string out = temp_dir() + "/run";
  const TrainOptions o = options(out);
  const SftResult r = train_sft(o, sft(), given(o));
  EXPECT_EQ(r.step, 24);
  EXPECT_LT(r.heldout_after, 0.8 * r.heldout_before) << r.heldout_before << " -> " << r.heldout_after;

  const json report = read_json_file(out + "/sft_report.json");
  const auto evals = records(out + "/metrics.jsonl", "eval");
  ASSERT_GE(evals.size(), 3u);
  EXPECT_EQ(evals.front()["step"], 0);  // the base, before any step
  EXPECT_NEAR(evals.front()["val_loss"].get<double>(), report["heldout_response_loss"]["before"].get<double>(), 1e-4);
  EXPECT_NEAR(evals.back()["val_loss"].get<double>(), report["heldout_response_loss"]["after"].get<double>(), 1e-9);
  EXPECT_EQ(records(out + "/metrics.jsonl", "train").size(), 24u);

  const json& lt = report["light_touch"];
  EXPECT_GT(lt["kl_heldout"]["mean"].get<double>(), 0.0);
  EXPECT_GE(lt["kl_heldout"]["max_position"].get<double>(), lt["kl_heldout"]["mean"].get<double>());
  EXPECT_EQ(lt["temptation"]["policy"], "ai_mode");
  for (const char* when : {"before", "after"}) {
    const json& t = lt["temptation"][when];
    EXPECT_EQ(t["generations"], 6);
    EXPECT_GT(t["tokens"].get<int>(), 0);
    EXPECT_GE(t["mean"].get<double>(), 0.0);
    EXPECT_LE(t["max"].get<double>(), 1.0);
    EXPECT_GE(t["max"].get<double>(), t["mean"].get<double>());
  }
  EXPECT_EQ(report["seed_prompt"], kSeedPrompt);

  // the checkpoint: the base's tokenizer, tagset and policy, the run's record
  const LoadedCheckpoint ck = load_checkpoint(out + "/checkpoint", torch::kCPU);
  EXPECT_EQ(read_file(out + "/checkpoint/tokenizer.model"), read_file(*dir_ + "/base/tokenizer.model"));
  EXPECT_EQ(ck.policy["name"], "ai_mode");
  EXPECT_EQ(ck.train_state["objective"]["name"], "sft");
  EXPECT_EQ(ck.train_state["seed_prompt"], kSeedPrompt);
}

TEST_F(SftTrain, AResumedRunEndsWhereAnUninterruptedOneEnds) {
  const std::string root = temp_dir();
  TrainOptions whole = options(root + "/whole");
  whole.steps = 10;
  whole.eval_every = 0;
  SftOptions s = sft();
  s.drift_prompts = 2;
  train_sft(whole, s, given(whole));

  TrainOptions half = whole;
  half.out = root + "/halves";
  half.stop_after = 5;
  const SftResult first = train_sft(half, s, given(half));
  EXPECT_EQ(first.step, 5);
  EXPECT_FALSE(file_exists(half.out + "/sft_report.json"));  // the report waits for the end of the run
  // a fresh run into the same directory is refused
  EXPECT_THROW(train_sft(half, s, given(half)), Error);
  TrainOptions again;
  again.objective.name = "sft";
  again.out = half.out;
  again.resume = true;
  const SftResult second = train_sft(again, SftOptions{}, {"resume", "out", "objective"});
  EXPECT_EQ(second.step, 10);

  const auto a = records(whole.out + "/metrics.jsonl", "train"), b = records(half.out + "/metrics.jsonl", "train");
  ASSERT_EQ(a.size(), 10u);
  ASSERT_EQ(b.size(), 10u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i]["loss"].get<double>(), b[i]["loss"].get<double>(), 1e-5) << i;
  const LoadedCheckpoint x = load_checkpoint(whole.out + "/checkpoint", torch::kCPU);
  const LoadedCheckpoint y = load_checkpoint(half.out + "/checkpoint", torch::kCPU);
  auto wx = x.model->hf_tensors(), wy = y.model->hf_tensors();
  for (size_t i = 0; i < wx.size(); ++i) EXPECT_TRUE(torch::allclose(wx[i].second, wy[i].second, 1e-5, 1e-6)) << wx[i].first;
  EXPECT_NEAR(read_json_file(whole.out + "/sft_report.json")["light_touch"]["kl_heldout"]["mean"].get<double>(),
              read_json_file(half.out + "/sft_report.json")["light_touch"]["kl_heldout"]["mean"].get<double>(), 1e-5);

  // a resumed run keeps its pairs and seed prompt
  TrainOptions changed = again;
  changed.steps = 12;
  SftOptions other;
  other.seed_prompt = *dir_ + "/pairs.jsonl";
  EXPECT_THROW(train_sft(changed, other, {"resume", "out", "objective", "steps", "seed_prompt"}), Error);
}

TEST_F(SftTrain, RefusesARunWithoutACheckpointToStartFrom) {
  TrainOptions o = options(temp_dir() + "/run");
  o.init_from.clear();
  EXPECT_THROW(train_sft(o, sft(), given(o)), Error);
}
