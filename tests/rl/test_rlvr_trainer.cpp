// The GRPO trainer end to end (rl/rlvr_trainer.hpp): a resumed run equals an
// uninterrupted one, reward rises on a task a tiny model can learn, and bad
// inputs are refused with messages that name what to fix.
#include <gtest/gtest.h>

#include <numeric>

#include "core/error.hpp"
#include "core/lines.hpp"
#include "core/progress.hpp"
#include "eval/eval_model.hpp"
#include "rl/rlvr_trainer.hpp"
#include "rl_fixture.hpp"

using namespace prealign;
using namespace prealign::testing;

namespace {

std::vector<json> metrics_of(const std::string& run) {
  std::vector<json> out;
  LineReader lines(run + "/metrics.jsonl");
  for (std::string line; lines.next(line);)
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

RlvrOptions small_run(const std::string& dir, const std::string& ckpt, const std::string& tasks) {
  RlvrOptions o;
  o.model = ckpt;
  o.tasks = tasks;
  o.out = dir;
  o.steps = 4;
  o.prompts_per_step = 3;
  o.group = 8;
  o.iterations = 2;   // the ratio departs from 1 in the second pass
  o.micro_batch = 5;  // and the step's sequences go through in uneven chunks
  o.kl_coef = 0.1;
  o.lr = 1e-2;
  o.max_new_tokens = 6;
  return o;
}

std::string expect_error(const RlvrOptions& o, const std::set<std::string>& given = {}) {
  try {
    set_quiet(true);
    rlvr(o, given);
    set_quiet(false);
  } catch (const Error& e) {
    set_quiet(false);
    return std::string(e.what());
  }
  ADD_FAILURE() << "accepted";
  return "";
}

}  // namespace

TEST(RlvrTrainer, ResumedRunEqualsUninterruptedRun) {
  const std::string dir = temp_dir();
  const std::string ckpt = make_rl_checkpoint(dir, "ai_mode");
  write_tasks(dir + "/tasks.jsonl", number_tasks(5, 3));
  set_quiet(true);
  RlvrOptions whole = small_run(dir + "/whole", ckpt, dir + "/tasks.jsonl");
  rlvr(whole);
  RlvrOptions half = small_run(dir + "/half", ckpt, dir + "/tasks.jsonl");
  half.steps = 2;
  rlvr(half);
  half.steps = 4;
  half.resume = true;
  const RlvrResult resumed = rlvr(half, {"steps", "resume"});
  set_quiet(false);
  EXPECT_EQ(resumed.step, 4);
  EXPECT_EQ(resumed.steps.size(), 2u);

  const std::vector<json> a = metrics_of(dir + "/whole"), b = metrics_of(dir + "/half");
  ASSERT_EQ(a.size(), 4u);
  ASSERT_EQ(b.size(), 4u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i]["step"], b[i]["step"]);
    for (const char* k : {"loss", "reward", "kl", "clip_fraction", "temptation_mean", "completion_tokens", "grad_norm"})
      EXPECT_NEAR(a[i][k].get<double>(), b[i][k].get<double>(), 1e-6) << k << " at step " << i + 1;
  }
  int flat = 0;
  for (const json& r : a) flat += r["zero_variance_groups"].get<int>();
  EXPECT_LT(flat, 4 * 3) << "some group must carry a signal, or the test shows nothing";
  EXPECT_GT(a[3]["kl"].get<double>(), 0) << "the model moved away from the reference";
  EXPECT_GT(a[3]["clip_fraction"].get<double>() + a[2]["clip_fraction"].get<double>(), 0) << "second passes clip";
  const LoadedCheckpoint x = load_checkpoint(dir + "/whole/checkpoint", torch::kCPU, true);
  const LoadedCheckpoint y = load_checkpoint(dir + "/half/checkpoint", torch::kCPU, true);
  const LoadedCheckpoint start = load_checkpoint(ckpt, torch::kCPU);
  double moved = 0;
  auto wx = x.model->hf_tensors(), wy = y.model->hf_tensors(), w0 = start.model->hf_tensors();
  for (size_t i = 0; i < wx.size(); ++i) {
    EXPECT_LT((wx[i].second - wy[i].second).abs().max().item<double>(), 1e-6) << wx[i].first;
    moved = std::max(moved, (wx[i].second - w0[i].second).abs().max().item<double>());
  }
  EXPECT_GT(moved, 1e-4) << "training changed the weights";
  EXPECT_EQ(x.train_state["kind"], "rlvr");
  EXPECT_EQ(x.train_state["step"], 4);
  EXPECT_EQ(x.policy["name"], "ai_mode") << "the policy travels with the checkpoint";

  // Every evaluation loads an RLVR checkpoint (its train_state holds rlvr's options,
  // not a trainer's), and its reports say what made it.
  // What it was trained on before RL (the dataset) comes from the model it started from.
  write_json_file(ckpt + "/train_state.json", json{{"step", 7}, {"options", {{"data", dir + "/corpus"}}}});
  const EvalModel e = load_eval_model(dir + "/whole/checkpoint");
  EXPECT_EQ(report_header("tasks", e)["objective"], "rlvr");
  EXPECT_EQ(report_header("tasks", e)["step"], 4);
  EXPECT_EQ(e.trained.data, dir + "/corpus");
}

TEST(RlvrTrainer, RewardRisesOnAnEasyTask) {
  const std::string dir = temp_dir();
  const std::string ckpt = make_rl_checkpoint(dir, "ai_mode");
  write_tasks(dir + "/tasks.jsonl", number_tasks(8, 3));
  RlvrOptions o;
  o.model = ckpt;
  o.tasks = dir + "/tasks.jsonl";
  o.out = dir + "/run";
  o.steps = 40;
  o.prompts_per_step = 4;
  o.group = 8;
  o.lr = 1e-2;
  o.kl_coef = 0.01;
  o.max_new_tokens = 6;
  o.seed = 2;
  set_quiet(true);
  const RlvrResult r = rlvr(o);
  set_quiet(false);
  ASSERT_EQ(r.steps.size(), 40u);
  auto mean_reward = [&](size_t from, size_t to) {
    double s = 0;
    for (size_t i = from; i < to; ++i) s += r.steps[i].reward;
    return s / double(to - from);
  };
  const double first = mean_reward(0, 8), last = mean_reward(32, 40);
  std::printf("reward: first 8 steps %.3f, last 8 steps %.3f\n", first, last);
  EXPECT_GT(last, first + 0.25) << "first " << first << " last " << last;
}

TEST(RlvrTrainer, RefusesBadInputsWithClearMessages) {
  const std::string dir = temp_dir();
  const std::string ckpt = make_rl_checkpoint(dir, "ai_mode");
  write_tasks(dir + "/tasks.jsonl", number_tasks(4, 3));
  RlvrOptions o = small_run(dir + "/run", ckpt, dir + "/tasks.jsonl");

  write_file_atomic(dir + "/empty.jsonl", "");
  RlvrOptions e = o;
  e.tasks = dir + "/empty.jsonl";
  EXPECT_NE(expect_error(e).find("holds no tasks"), std::string::npos);

  write_file_atomic(dir + "/bad.jsonl", read_file(dir + "/tasks.jsonl") + "{\"id\": 3}\n");
  e.tasks = dir + "/bad.jsonl";
  EXPECT_NE(expect_error(e).find("bad.jsonl:5"), std::string::npos) << "names file and line";

  e = o;
  e.group = 1;
  EXPECT_NE(expect_error(e).find("--group"), std::string::npos);

  e = o;
  e.split = "test";
  EXPECT_NE(expect_error(e).find("no tasks in split \"test\""), std::string::npos);

  e = o;
  e.prompts_per_step = 9;
  EXPECT_NE(expect_error(e).find("more than the 4 tasks"), std::string::npos);

  std::vector<TaskRecord> broken = number_tasks(2, 3);
  broken[1].verifier = {{"type", "number"}};  // no answer
  write_tasks(dir + "/broken.jsonl", broken);
  e = o;
  e.tasks = dir + "/broken.jsonl";
  EXPECT_NE(expect_error(e).find("easy-1"), std::string::npos) << "names the task";

  e = o;
  e.seed_prompt = dir + "/missing-seed.txt";
  EXPECT_NE(expect_error(e).find("missing-seed.txt"), std::string::npos);

  // A run directory is never overwritten; a resumed run keeps its settings.
  o.steps = 1;
  set_quiet(true);
  rlvr(o);
  set_quiet(false);
  EXPECT_NE(expect_error(o).find("holds a run already"), std::string::npos);
  e = o;
  e.resume = true;
  e.lr = 1.0;
  EXPECT_NE(expect_error(e, {"resume", "lr"}).find("--lr"), std::string::npos);
}

TEST(RlvrTrainer, RefusesAPolicyWithDynamicRules) {
  const std::string dir = temp_dir();
  const std::string ckpt = make_rl_checkpoint(dir, "ai_mode");
  // The same checkpoint with a rule added to its policy.
  json policy = read_json_file(ckpt + "/policy.json");
  policy["rules"] = json::array({{{"label", "calm"},
                                  {"when", {{"temptation", "</AI>"}, {"above", 0.3}}},
                                  {"do", {{"bias", {{"</AI>", -1.0}}}}}}});
  write_json_file(ckpt + "/policy.json", policy);
  write_tasks(dir + "/tasks.jsonl", number_tasks(4, 3));
  const std::string msg = expect_error(small_run(dir + "/run", ckpt, dir + "/tasks.jsonl"));
  EXPECT_NE(msg.find("dynamic rules"), std::string::npos) << msg;
}
