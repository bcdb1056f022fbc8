// `prealign rlvr` end to end through the binary: a few steps on a small
// checkpoint with a seed prompt, metrics.jsonl with every promised field, a
// checkpoint `prealign generate` loads, --resume extending the run, and clear
// refusals of bad input.
#include <gtest/gtest.h>

#include <filesystem>

#include "cli_run.hpp"
#include "core/files.hpp"
#include "rl/rl_fixture.hpp"

using namespace prealign;
using namespace prealign::testing;
namespace fs = std::filesystem;

TEST(RlvrCli, TrainsResumesAndWritesACheckpointGenerateLoads) {
  if (!fs::exists(PREALIGN_BINARY)) GTEST_SKIP() << "prealign not built";
  const std::string dir = temp_dir();
  const std::string ckpt = make_rl_checkpoint(dir, "ai_mode");
  std::vector<TaskRecord> tasks = number_tasks(6, 3);
  tasks[5].split = "test";
  write_tasks(dir + "/tasks.jsonl", tasks);
  write_file_atomic(dir + "/seed.txt", "I am a helpful, careful assistant.\n");
  const std::string args = "rlvr --model '" + ckpt + "' --tasks '" + dir + "/tasks.jsonl' --seed-prompt '" + dir +
                           "/seed.txt' --out '" + dir + "/run' --prompts-per-step 2 --group 3 --max-new-tokens 6 " +
                           "--lr 1e-3 --kl-coef 0.05 --seed 4";
  const CliResult r = run_prealign(args + " --steps 2");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("rlvr: 5 tasks (split train)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("checkpoint: " + dir + "/run/checkpoint"), std::string::npos) << r.output;
  std::vector<json> m = jsonl(dir + "/run/metrics.jsonl");
  ASSERT_EQ(m.size(), 2u);
  for (const char* k : {"step", "reward", "accuracy", "kl", "kl_coef", "clip_fraction", "temptation_mean",
                        "temptation_max", "tok_s", "loss", "zero_variance_groups"})
    EXPECT_TRUE(m[1].contains(k)) << k;
  EXPECT_EQ(m[1]["kl_coef"], 0.05);
  EXPECT_GT(m[1]["tok_s"].get<double>(), 0);

  const CliResult more = run_prealign(args + " --steps 3 --resume");
  ASSERT_EQ(more.status, 0) << more.output;
  EXPECT_NE(more.output.find("resumed at step 2"), std::string::npos) << more.output;
  m = jsonl(dir + "/run/metrics.jsonl");
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[2]["step"], 3);

  const CliResult gen = run_prealign("generate --model '" + dir + "/run/checkpoint' --prompt 'what is 1 plus 2?' " +
                                     "--max-new-tokens 5 --seed 1");
  EXPECT_EQ(gen.status, 0) << gen.output;
}

TEST(RlvrCli, RefusesBadInput) {
  if (!fs::exists(PREALIGN_BINARY)) GTEST_SKIP() << "prealign not built";
  const std::string dir = temp_dir();
  const std::string ckpt = make_rl_checkpoint(dir, "ai_mode");
  write_tasks(dir + "/tasks.jsonl", number_tasks(3, 3));
  const std::string base = "rlvr --model '" + ckpt + "' --tasks '" + dir + "/tasks.jsonl' --out '" + dir + "/run' ";
  const CliResult g = run_prealign(base + "--group 1");
  EXPECT_NE(g.status, 0);
  EXPECT_NE(g.output.find("--group"), std::string::npos) << g.output;
  write_file_atomic(dir + "/broken.jsonl", "{not json\n");
  const CliResult b = run_prealign("rlvr --model '" + ckpt + "' --tasks '" + dir + "/broken.jsonl' --out '" + dir + "/r2'");
  EXPECT_NE(b.status, 0);
  EXPECT_NE(b.output.find("broken.jsonl:1"), std::string::npos) << b.output;
  const CliResult none = run_prealign("rlvr --tasks '" + dir + "/tasks.jsonl' --out '" + dir + "/r3'");
  EXPECT_NE(none.status, 0);
  EXPECT_NE(none.output.find("--model"), std::string::npos) << none.output;
}
