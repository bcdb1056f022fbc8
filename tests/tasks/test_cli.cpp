// The prealign binary end to end: tasks make -> completions -> tasks verify.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <filesystem>
#include <fstream>

#include "core/files.hpp"
#include "core/json_io.hpp"
#include "test_util.hpp"

using namespace prealign;
using namespace prealign::testing;
namespace fs = std::filesystem;

namespace {

struct CliRun {
  int status;
  std::string output;
};

CliRun prealign_cmd(const std::string& args) {
  int st = 0;
  std::string out = run_capture("'" + std::string(PREALIGN_BINARY) + "' " + args + " 2>&1", &st);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

std::vector<json> read_jsonl(const std::string& path) {
  std::vector<json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

}  // namespace

TEST(TasksCli, MakeThenVerifyRoundTrip) {
  if (!fs::exists(PREALIGN_BINARY)) GTEST_SKIP() << "prealign not built";
  const std::string dir = temp_dir();
  CliRun r = prealign_cmd("tasks make --kind system-rules --n 5 --seed 3 --held-out-families system-json -o " + dir + "/t.jsonl");
  ASSERT_EQ(r.status, 0) << r.output;
  CliRun again = prealign_cmd("tasks make --kind system-rules --n 5 --seed 3 --held-out-families system-json -o " + dir + "/t2.jsonl");
  ASSERT_EQ(again.status, 0) << again.output;
  EXPECT_EQ(read_file(dir + "/t.jsonl"), read_file(dir + "/t2.jsonl"));
  r = prealign_cmd("tasks make --kind arithmetic --n 6 --seed 3 -o " + dir + "/a.jsonl");
  ASSERT_EQ(r.status, 0) << r.output;
  // completions: the right answer for even-numbered arithmetic tasks, a wrong one for the rest
  const auto tasks = read_jsonl(dir + "/a.jsonl");
  ASSERT_EQ(tasks.size(), 6u);
  std::string completions;
  for (size_t i = 0; i < tasks.size(); ++i) {
    const int64_t answer = tasks[i]["verifier"]["answer"].get<int64_t>() + (i % 2);
    completions += json{{"id", tasks[i]["id"]}, {"completion", "Answer: " + std::to_string(answer)}}.dump() + "\n";
  }
  write_file_atomic(dir + "/c.jsonl", completions);
  r = prealign_cmd("tasks verify --tasks " + dir + "/a.jsonl --completions " + dir + "/c.jsonl -o " + dir + "/report.json");
  ASSERT_EQ(r.status, 0) << r.output;
  const json report = json::parse(read_file(dir + "/report.json"));
  EXPECT_EQ(report["families"]["arithmetic"]["correct"], 3);
  EXPECT_EQ(report["families"]["arithmetic"]["n"], 6);
  EXPECT_NE(r.output.find("arithmetic"), std::string::npos);
}

TEST(TasksCli, BadInputGivesAnErrorNamingFileAndLineAndNoOutput) {
  if (!fs::exists(PREALIGN_BINARY)) GTEST_SKIP() << "prealign not built";
  const std::string dir = temp_dir();
  ASSERT_EQ(prealign_cmd("tasks make --kind strings --n 2 -o " + dir + "/t.jsonl").status, 0);
  write_file_atomic(dir + "/c.jsonl", "{\"id\": \"x\", \"completion\": \"1\"}\n");
  CliRun r = prealign_cmd("tasks verify --tasks " + dir + "/t.jsonl --completions " + dir + "/c.jsonl -o " + dir + "/r.json");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("c.jsonl:1"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir + "/r.json"));
  write_file_atomic(dir + "/c.jsonl", "garbage\n");
  r = prealign_cmd("tasks verify --tasks " + dir + "/t.jsonl --completions " + dir + "/c.jsonl -o " + dir + "/r.json");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("c.jsonl:1"), std::string::npos) << r.output;
  r = prealign_cmd("tasks make --kind pep8-lines --n 2 -o " + dir + "/p.jsonl");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("--corpus"), std::string::npos) << r.output;
  r = prealign_cmd("tasks make --kind nonsense -o " + dir + "/p.jsonl");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_FALSE(fs::exists(dir + "/p.jsonl"));
}
