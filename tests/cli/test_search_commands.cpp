// `generate --search best-of|beam` and `eval search` as a user runs them, on
// the --tiny demo's conditional model (shared with test_commands.cpp): the
// search statistics are printed, beam search is deterministic and never emits
// a banned tag, and the report's figures are what its samples file says.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "cli_run.hpp"
#include "core/files.hpp"
#include "core/json_io.hpp"
#include "shared_run.hpp"

using namespace prealign;
using namespace prealign::testing;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::vector<json> json_lines(const std::string& output) {
  std::vector<json> out;
  for (const std::string& line : lines_of(output))
    if (!line.empty() && line[0] == '{') out.push_back(json::parse(line));
  return out;
}

std::string demo() {
  const SharedRun r = shared_run("demo-tiny", "demo --tiny --out {out}");
  EXPECT_EQ(r.status, 0) << r.output;
  return r.dir;
}

}  // namespace

TEST(SearchCommands, GenerateBeamAndBestOfPrintTheirSearch) {
  if (!fs::exists(PREALIGN_BINARY)) GTEST_SKIP() << "prealign not built";
  const std::string ck = demo() + "/conditional/checkpoint";
  const std::string base = "generate --model '" + ck + "' --prompt 'def f(x):' --json --max-new-tokens 10 ";
  const CliResult a = run_prealign(base + "--beam 3 --prune-temptation 0.5 --temptation-penalty 1");
  const CliResult b = run_prealign(base + "--search beam --beam 3 --prune-temptation 0.5 --temptation-penalty 1");
  ASSERT_EQ(a.status, 0) << a.output;
  ASSERT_EQ(b.status, 0) << b.output;
  const auto ga = json_lines(a.output), gb = json_lines(b.output);
  ASSERT_EQ(ga.size(), 1u) << a.output;
  ASSERT_EQ(gb.size(), 1u) << b.output;
  EXPECT_EQ(ga[0]["text_with_tags"], gb[0]["text_with_tags"]) << "--beam alone is beam search, deterministic";
  const json& s = ga[0]["search"];
  EXPECT_EQ(s["method"], "beam");
  EXPECT_EQ(s["width"], 3);
  EXPECT_GT(s["forward_tokens"].get<int>(), 0);
  EXPECT_LE(ga[0]["generated_tokens"].get<int>(), 10);
  for (const json& t : ga[0]["tokens"]) EXPECT_NE(t["text"], "<|bad|>");

  const CliResult best = run_prealign(base + "--search best-of --beam 4 --seed 2 --num-samples 2");
  ASSERT_EQ(best.status, 0) << best.output;
  const auto gbest = json_lines(best.output);
  ASSERT_EQ(gbest.size(), 2u) << best.output;
  for (const json& g : gbest) {
    EXPECT_EQ(g["search"]["method"], "best-of");
    EXPECT_LT(g["search"]["chosen"].get<int>(), 4);
  }

  const CliResult no_width = run_prealign(base + "--search best-of");
  EXPECT_NE(no_width.status, 0);
  EXPECT_TRUE(contains(no_width.output, "--beam")) << no_width.output;
  const CliResult bad = run_prealign(base + "--search wide");
  EXPECT_NE(bad.status, 0);
  EXPECT_TRUE(contains(bad.output, "--search")) << bad.output;
  const CliResult twice = run_prealign(base + "--beam 2 --num-samples 2");
  EXPECT_NE(twice.status, 0);
  EXPECT_TRUE(contains(twice.output, "--num-samples")) << twice.output;
}

TEST(SearchCommands, EvalSearchReportIsWhatItsSamplesSay) {
  if (!fs::exists(PREALIGN_BINARY)) GTEST_SKIP() << "prealign not built";
  const std::string d = demo(), dir = temp_dir();
  const CliResult p = run_prealign("eval prompts --data '" + d + "/data' --out '" + dir + "/prompts.txt' --max 3");
  ASSERT_EQ(p.status, 0) << p.output;
  const CliResult r = run_prealign("eval search --model '" + d + "/conditional/checkpoint' --score-config pep8 "
                                   "--prompts '" + dir + "/prompts.txt' --width 2 --max-new-tokens 8 "
                                   "--prune-temptation 0.2 --bootstrap 50 --out '" + dir + "/search.json'");
  ASSERT_EQ(r.status, 0) << r.output;
  const json rep = json::parse(read_file(dir + "/search.json"));
  const auto samples = jsonl(dir + "/search.json.samples.jsonl");
  const size_t prompts = rep["prompts"].get<size_t>();
  ASSERT_GE(prompts, 1u);
  std::map<std::string, std::vector<double>> scores;
  std::map<std::string, double> forward;
  for (const json& s : samples) {
    scores[s["method"]].push_back(s["score"].get<double>());
    forward[s["method"]] += s["forward_tokens"].get<double>();
    EXPECT_FALSE(contains(s["text_with_tags"].get<std::string>(), "<|bad|>"));
  }
  EXPECT_EQ(scores["sample"].size(), 2 * prompts);
  for (const char* m : {"best-of", "tag-best-of", "beam", "tag-beam"}) EXPECT_EQ(scores[m].size(), prompts) << m;
  for (const auto& [method, v] : scores) {
    double sum = 0;
    for (double x : v) sum += x;
    const json& row = rep["methods"][method];
    EXPECT_NEAR(row["mean_score"]["value"].get<double>(), sum / double(v.size()), 1e-12) << method;
    EXPECT_NEAR(row["forward_tokens_per_output"].get<double>(), forward[method] / double(v.size()), 1e-9) << method;
  }
  EXPECT_TRUE(rep["methods"]["tag-beam"].contains("difference_to_sample"));
  const CliResult bad = run_prealign("eval search --model '" + d + "/conditional/checkpoint' --methods beam,wide");
  EXPECT_NE(bad.status, 0);
  EXPECT_TRUE(contains(bad.output, "wide")) << bad.output;
}
