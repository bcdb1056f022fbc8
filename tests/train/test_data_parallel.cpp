// Data-parallel training with real processes on loopback (Gloo): the same
// `prealign train` binary, started as two ranks by `prealign launch` or by hand
// with torchrun's variables, against one rank with the same global batch.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "core/files.hpp"
#include "dataset_fixture.hpp"
#include "model/safetensors.hpp"

using namespace prealign;
using Clock = std::chrono::steady_clock;

namespace {

// A child process with its stderr in a file, and a deadline on waiting for it.
struct Child {
  pid_t pid = -1;
  std::string log;
  Child() = default;
  Child(const Child&) = delete;
  Child(Child&& other) noexcept : pid(other.pid), log(std::move(other.log)) { other.pid = -1; }
  static Child start(const std::vector<std::string>& args, const std::vector<std::pair<std::string, std::string>>& env,
                     const std::string& log) {
    Child c;
    c.log = log;
    c.pid = ::fork();
    if (c.pid == 0) {
      FILE* f = std::freopen(log.c_str(), "w", stderr);
      (void)f;
      if (!std::freopen("/dev/null", "w", stdout)) ::_exit(126);
      for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
      std::vector<char*> argv;
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    return c;
  }
  // The exit status (128 + signal when killed), or -1 when it did not end in time.
  int wait_for(std::chrono::seconds limit) {
    const auto deadline = Clock::now() + limit;
    int status = 0;
    while (Clock::now() < deadline) {
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1;
  }
  std::string errors() const { return file_exists(log) ? read_file(log) : ""; }
  ~Child() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
};

class DataParallel : public prealign::testing::ScoredDatasetSuite {
 protected:
  // `prealign train` arguments of the runs below: a tiny model, mle, no held-out loss in between.
  static std::vector<std::string> train_args(const std::string& out, int batch, int steps,
                                             std::vector<std::string> extra = {}) {
    std::vector<std::string> a = {"train", "--data", *data_, "--out", *dir_ + "/" + out, "--model",
                                  "dim=32,layers=2,heads=2,ctx=32", "--steps", std::to_string(steps),
                                  "--batch-size", std::to_string(batch), "--seq-len", "32", "--lr", "3e-3",
                                  "--eval-every", "0", "--eval-batches", "4", "--log-every", "1000"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  static int run(std::vector<std::string> args, const std::string& log, int nproc = 1) {
    if (nproc > 1) {
      std::vector<std::string> launch = {"launch", "--nproc", std::to_string(nproc), "--"};
      args.insert(args.begin(), launch.begin(), launch.end());
    }
    args.insert(args.begin(), PREALIGN_BINARY);
    Child c = Child::start(args, {{"OMP_NUM_THREADS", "1"}}, *dir_ + "/" + log);
    int status = c.wait_for(std::chrono::seconds(600));
    EXPECT_EQ(status, 0) << c.errors();
    return status;
  }
  static std::map<std::string, torch::Tensor> weights(const std::string& out) {
    return load_safetensors(*dir_ + "/" + out + "/checkpoint/model.safetensors").tensors;
  }
  static std::vector<json> records(const std::string& out, const std::string& type) {
    std::vector<json> r;
    std::istringstream in(read_file(*dir_ + "/" + out + "/metrics.jsonl"));
    std::string line;
    while (std::getline(in, line))
      if (!line.empty() && json::parse(line).value("type", "") == type) r.push_back(json::parse(line));
    return r;
  }
};

// fp32 summation order differs (two half-batch means averaged vs one mean over
// the batch; Gloo's reduction), so weights agree to rounding amplified by 24
// AdamW steps, not bit for bit. Measured: max |difference| 1.5e-7 on weights up
// to 1.04 in size; one step less moves them by 3.2e-4. The bound sits between.
constexpr double kWeightTolerance = 1e-5;

double max_difference(const std::map<std::string, torch::Tensor>& a, const std::map<std::string, torch::Tensor>& b) {
  double worst = 0;
  EXPECT_EQ(a.size(), b.size());
  for (const auto& [name, t] : a) {
    auto it = b.find(name);
    if (it == b.end()) {
      ADD_FAILURE() << "missing " << name;
      continue;
    }
    worst = std::max(worst, (t - it->second).abs().max().item<double>());
  }
  return worst;
}

}  // namespace

TEST_F(DataParallel, TwoRanksReachTheWeightsOfOneRankWithTheSameGlobalBatch) {
  ASSERT_EQ(run(train_args("one", 8, 24), "one.log"), 0);
  ASSERT_EQ(run(train_args("two", 4, 24), "two.log", 2), 0);
  // Overlapped all-reduce with many small buckets: the same mean gradient.
  ASSERT_EQ(run(train_args("two-overlap", 4, 24, {"--grad-overlap", "--grad-bucket-mb", "0.002"}), "overlap.log", 2), 0);
  // A yardstick: one step less changes the weights by far more than the tolerance.
  ASSERT_EQ(run(train_args("one-short", 8, 24, {"--stop-after", "23"}), "short.log"), 0);
  auto one = weights("one");
  EXPECT_GT(max_difference(one, weights("one-short")), 10 * kWeightTolerance);
  EXPECT_LT(max_difference(one, weights("two")), kWeightTolerance);
  EXPECT_LT(max_difference(one, weights("two-overlap")), kWeightTolerance);
  // The run records the global batch, one line per step (rank 0 alone writes), and the same losses.
  json run = read_json_file(*dir_ + "/two/run.json");
  EXPECT_EQ(run.at("global_batch"), 8);
  EXPECT_EQ(run.at("world_size"), 2);
  auto a = records("one", "train"), b = records("two", "train");
  ASSERT_EQ(a.size(), 24u);
  ASSERT_EQ(b.size(), 24u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(b[i].at("step"), a[i].at("step"));
    EXPECT_NEAR(b[i].at("loss").get<double>(), a[i].at("loss").get<double>(), 1e-4) << "step " << i + 1;
    EXPECT_EQ(b[i].at("tokens"), a[i].at("tokens"));
  }
  // The held-out loss at the end is computed by both ranks together: the same figure.
  auto ea = records("one", "eval"), eb = records("two", "eval");
  ASSERT_EQ(ea.size(), 1u);
  ASSERT_EQ(eb.size(), 1u);
  EXPECT_NEAR(eb[0].at("val_loss").get<double>(), ea[0].at("val_loss").get<double>(), 1e-4);
  EXPECT_EQ(eb[0].at("val_tokens"), ea[0].at("val_tokens"));
}

// A run checkpointed at 2 ranks resumes at 1 (and the reverse) on the same global
// batch and data order: the result is the run that never stopped.
TEST_F(DataParallel, ResumeAcrossWorldSizesContinuesTheSameRun) {
  ASSERT_EQ(run(train_args("straight", 8, 24), "straight.log"), 0);
  // 2 ranks x batch 4 for 12 steps, then 1 rank: batch 4 x grad-accum 2 keeps the global batch of 8.
  ASSERT_EQ(run(train_args("two-then-one", 4, 24, {"--stop-after", "12"}), "a1.log", 2), 0);
  ASSERT_EQ(run({"train", "--resume", "--out", *dir_ + "/two-then-one"}, "a2.log"), 0);
  // 1 rank x batch 8, then 2 ranks: batch 4 each.
  ASSERT_EQ(run(train_args("one-then-two", 8, 24, {"--stop-after", "12"}), "b1.log"), 0);
  ASSERT_EQ(run({"train", "--resume", "--out", *dir_ + "/one-then-two"}, "b2.log", 2), 0);
  auto straight = weights("straight");
  EXPECT_LT(max_difference(straight, weights("two-then-one")), kWeightTolerance);
  EXPECT_LT(max_difference(straight, weights("one-then-two")), kWeightTolerance);
  json state = read_json_file(*dir_ + "/two-then-one/checkpoint/train_state.json");
  EXPECT_EQ(state.at("world_size"), 1);
  EXPECT_EQ(state.at("global_batch"), 8);
  EXPECT_EQ(state.at("options").at("grad_accum"), 2);
  EXPECT_EQ(records("two-then-one", "train").size(), 24u);
  // A global batch that cannot be split is refused before training.
  ASSERT_EQ(run(train_args("odd", 3, 8, {"--stop-after", "4"}), "c1.log"), 0);
  std::vector<std::string> args = {PREALIGN_BINARY, "launch", "--nproc", "2", "--", "train", "--resume", "--out",
                                   *dir_ + "/odd"};
  Child c = Child::start(args, {{"OMP_NUM_THREADS", "1"}}, *dir_ + "/c2.log");
  EXPECT_NE(c.wait_for(std::chrono::seconds(120)), 0);
  EXPECT_NE(c.errors().find("cannot be split over 2 ranks"), std::string::npos) << c.errors();
}

// Starts two ranks by hand (as torchrun or srun would), kills one once training
// runs, and expects the other to stop, non-zero and naming it, within 60 s.
void expect_survivor_stops(const std::string& dir, const std::string& data, int victim) {
  const int port = 20000 + (::getpid() * 7 + victim) % 20000;
  std::vector<std::unique_ptr<Child>> ranks;
  const std::string out = dir + "/killed-" + std::to_string(victim);
  for (int r = 0; r < 2; ++r) {
    std::vector<std::string> args = {PREALIGN_BINARY, "train", "--data", data, "--out", out, "--model",
                                     "dim=32,layers=2,heads=2,ctx=32", "--steps", "100000", "--batch-size", "2",
                                     "--seq-len", "32", "--eval-every", "0"};
    ranks.push_back(std::make_unique<Child>(Child::start(
        args,
        {{"RANK", std::to_string(r)}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "127.0.0.1"},
         {"MASTER_PORT", std::to_string(port)}, {"OMP_NUM_THREADS", "1"}},
        dir + "/rank" + std::to_string(r) + "-" + std::to_string(victim) + ".log")));
  }
  // Wait until training has begun (rank 0 writes the metrics log), then kill.
  const auto begun = Clock::now() + std::chrono::seconds(120);
  while (Clock::now() < begun && !(file_exists(out + "/metrics.jsonl") && file_size(out + "/metrics.jsonl") > 0))
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(file_exists(out + "/metrics.jsonl")) << ranks[0]->errors();
  ::kill(ranks[victim]->pid, SIGKILL);
  const auto killed = Clock::now();
  Child& survivor = *ranks[1 - victim];
  const int status = survivor.wait_for(std::chrono::seconds(60));
  EXPECT_NE(status, -1) << "rank " << 1 - victim << " still running 60 s after rank " << victim << " was killed";
  EXPECT_NE(status, 0);
  EXPECT_LT(Clock::now() - killed, std::chrono::seconds(60));
  EXPECT_NE(survivor.errors().find("rank " + std::to_string(victim)), std::string::npos) << survivor.errors();
}

TEST_F(DataParallel, KillingARankStopsTheOtherNamingIt) {
  expect_survivor_stops(*dir_, *data_, 1);
  expect_survivor_stops(*dir_, *data_, 0);  // rank 0 also hosts the rendezvous store
}

TEST_F(DataParallel, TheLauncherStopsEveryRankWhenOneDies) {
  std::vector<std::string> args = {PREALIGN_BINARY, "launch", "--nproc", "2", "--grace-seconds", "5", "--"};
  for (const auto& a : train_args("launched-kill", 2, 100000)) args.push_back(a);
  Child launcher = Child::start(args, {{"OMP_NUM_THREADS", "1"}}, *dir_ + "/launch-kill.log");
  const std::string metrics = *dir_ + "/launched-kill/metrics.jsonl";
  const auto begun = Clock::now() + std::chrono::seconds(120);
  while (Clock::now() < begun && !(file_exists(metrics) && file_size(metrics) > 0))
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(file_exists(metrics)) << launcher.errors();
  // The launcher printed each rank's pid: kill rank 1.
  const std::string log = launcher.errors();
  const size_t at = log.find("rank 1 of 2");
  ASSERT_NE(at, std::string::npos) << log;
  const pid_t victim = std::stoi(log.substr(log.find(" pid ", at) + 5));
  const size_t at0 = log.find("rank 0 of 2");
  ASSERT_NE(at0, std::string::npos) << log;
  const pid_t other = std::stoi(log.substr(log.find(" pid ", at0) + 5));
  ::kill(victim, SIGKILL);
  const int status = launcher.wait_for(std::chrono::seconds(60));
  EXPECT_NE(status, -1) << "the launcher did not stop within 60 s";
  EXPECT_NE(status, 0);
  const std::string after = launcher.errors();
  EXPECT_NE(after.find("rank 1 (pid " + std::to_string(victim) + ") was killed by signal 9"), std::string::npos) << after;
  // No rank is left behind.
  EXPECT_NE(::kill(victim, 0), 0);
  EXPECT_NE(::kill(other, 0), 0);
}
