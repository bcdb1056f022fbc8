// The seed-prompted fine-tuning commands end to end on the tiny AI-mode demo
// model: tasks make -> tasks pairs (every pair verified by `tasks verify`) ->
// train --objective sft with a seed prompt -> sft_report.json, and `eval kl`
// agreeing with the report and giving 0 for a model against itself.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "cli_run.hpp"
#include "shared_run.hpp"

using namespace prealign;
using namespace prealign::testing;
namespace fs = std::filesystem;

namespace {

double number(const std::string& text, const std::regex& re) {
  std::smatch m;
  if (!std::regex_search(text, m, re)) {
    ADD_FAILURE() << "no match in:\n" << text;
    return NAN;
  }
  return std::stod(m[1].str());
}

std::string q(const std::string& s) { return "'" + s + "'"; }

}  // namespace

TEST(SftCli, PairsTrainReportAndKl) {
  if (!fs::exists(PREALIGN_BINARY)) GTEST_SKIP() << "prealign not built";
  const SharedRun modes = shared_run("demo-modes-tiny", "demo --modes --tiny --out {out}");
  ASSERT_EQ(modes.status, 0) << modes.output;
  const std::string base = modes.dir + "/model/checkpoint", dir = temp_dir();
  ASSERT_TRUE(fs::exists(base + "/policy.json")) << base;

  // tasks -> pairs: python has no reference reply and is skipped, counted
  std::string all;
  for (const char* kind : {"arithmetic", "python", "system-rules"}) {
    const std::string f = dir + "/" + kind + ".jsonl";
    CliResult r = run_prealign(std::string("tasks make --kind ") + kind + " --n 12 --seed 4 -o " + q(f));
    ASSERT_EQ(r.status, 0) << r.output;
    all += read_file(f);
  }
  write_file_atomic(dir + "/tasks.jsonl", all);
  CliResult r = run_prealign("tasks pairs --tasks " + q(dir + "/tasks.jsonl") + " --split all -o " + q(dir + "/pairs.jsonl"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(number(r.output, std::regex(R"(python +pairs +0 +skipped +([0-9]+))")), 12) << r.output;
  const std::vector<json> pairs = jsonl(dir + "/pairs.jsonl");
  EXPECT_EQ(pairs.size(), 12u * 7u);  // arithmetic and the six rule families
  // every pair written passes the task's verifier, as `tasks verify` (the trainer's reward) sees it
  std::string completions, train, heldout;
  size_t kept = 0;
  for (size_t i = 0; i < pairs.size(); ++i) {
    completions += json{{"id", pairs[i]["id"]}, {"completion", pairs[i]["response"]}}.dump() + "\n";
    // the tiny demo model reads 256 tokens: long rule prompts would be refused (tested in tests/rl)
    if (pairs[i].value("system", "").size() + pairs[i]["prompt"].get<std::string>().size() > 160) continue;
    (kept++ % 6 == 0 ? heldout : train) += pairs[i].dump() + "\n";
  }
  write_file_atomic(dir + "/completions.jsonl", completions);
  r = run_prealign("tasks verify --tasks " + q(dir + "/tasks.jsonl") + " --completions " + q(dir + "/completions.jsonl") +
                   " -o " + q(dir + "/verify.json"));
  ASSERT_EQ(r.status, 0) << r.output;
  const json verified = json::parse(read_file(dir + "/verify.json"));
  EXPECT_EQ(verified["overall"]["n"], pairs.size());
  EXPECT_EQ(verified["overall"]["accuracy"], 1.0);
  write_file_atomic(dir + "/train.jsonl", train);
  write_file_atomic(dir + "/heldout.jsonl", heldout);
  write_file_atomic(dir + "/seed.txt", "I am the AI. I am careful and honest, and I answer exactly what is asked.\n");

  // train --objective sft, held-out pairs given, KL on the demo's dataset too
  const std::string run = dir + "/run";
  r = run_prealign("train --objective sft --data " + q(dir + "/train.jsonl") + " --eval-data " + q(dir + "/heldout.jsonl") +
                   " --init-from " + q(base) + " --seed-prompt " + q(dir + "/seed.txt") + " --out " + q(run) +
                   " --steps 16 --batch-size 8 --seq-len 255 --lr 1e-3 --log-every 8 --eval-every 8 --kl-data " +
                   q(modes.dir + "/data") + " --kl-sequences 8 --drift-tokens 6 --drift-prompts 8");
  ASSERT_EQ(r.status, 0) << r.output;
  const json report = json::parse(read_file(run + "/sft_report.json"));
  const double before = number(r.output, std::regex(R"(held-out response loss ([0-9.]+) ->)"));
  const double after = number(r.output, std::regex(R"(held-out response loss [0-9.]+ -> ([0-9.]+))"));
  EXPECT_LT(after, before);
  EXPECT_NEAR(before, report["heldout_response_loss"]["before"].get<double>(), 1e-4);
  EXPECT_NEAR(number(r.output, std::regex(R"(KL\(tuned \|\| base\) ([0-9.]+) nats)")),
              report["light_touch"]["kl_heldout"]["mean"].get<double>(), 1e-4);
  EXPECT_TRUE(report["light_touch"].contains("kl_data"));
  EXPECT_EQ(report["light_touch"]["temptation"]["policy"], "ai_mode");
  EXPECT_EQ(report["pairs"]["heldout"], (kept + 5) / 6);
  EXPECT_GT(kept, 30u);

  // eval kl on the same held-out pairs and seed prompt is the report's figure; a model against itself is 0
  r = run_prealign("eval kl --model " + q(run + "/checkpoint") + " --base " + q(base) + " --data " + q(dir + "/heldout.jsonl") +
                   " --seed-prompt " + q(dir + "/seed.txt") + " --seq-len 255 -o " + q(dir + "/kl.json"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NEAR(json::parse(read_file(dir + "/kl.json"))["kl"]["mean"].get<double>(),
              report["light_touch"]["kl_heldout"]["mean"].get<double>(), 1e-5);
  r = run_prealign("eval kl --model " + q(base) + " --base " + q(base) + " --data " + q(modes.dir + "/data") +
                   " --max-sequences 4 --out " + q(dir + "/self.json"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NEAR(json::parse(read_file(dir + "/self.json"))["kl"]["mean"].get<double>(), 0.0, 1e-6);
}

TEST(SftCli, BadInputIsAClearError) {
  if (!fs::exists(PREALIGN_BINARY)) GTEST_SKIP() << "prealign not built";
  const SharedRun modes = shared_run("demo-modes-tiny", "demo --modes --tiny --out {out}");
  ASSERT_EQ(modes.status, 0) << modes.output;
  const std::string dir = temp_dir(), base = modes.dir + "/model/checkpoint";
  write_file_atomic(dir + "/bad.jsonl", "{\"prompt\": \"a\", \"response\": \"b\"}\n{\"prompt\": \"a\"}\n");
  CliResult r = run_prealign("train --objective sft --data " + q(dir + "/bad.jsonl") + " --init-from " + q(base) +
                             " --out " + q(dir + "/run") + " --steps 2");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find(dir + "/bad.jsonl:2"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("response"), std::string::npos) << r.output;
  r = run_prealign("train --data " + q(modes.dir + "/data") + " --seed-prompt x.txt --out " + q(dir + "/run2") +
                   " --steps 2");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("--seed-prompt"), std::string::npos) << r.output;
  r = run_prealign("tasks pairs --tasks " + q(dir + "/bad.jsonl") + " -o " + q(dir + "/p.jsonl"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find(dir + "/bad.jsonl:1"), std::string::npos) << r.output;
}
