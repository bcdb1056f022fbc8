// Task files and completions: round trip, errors that name file:line, and the report.
#include <gtest/gtest.h>

#include <cmath>

#include "core/files.hpp"
#include "tasks/report.hpp"
#include "tasks_helpers.hpp"
#include "test_util.hpp"

using namespace prealign;
using namespace prealign::testing;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(TaskFiles, RoundTrip) {
  const std::string dir = temp_dir();
  auto tasks = make_family("arithmetic", 5);
  auto more = make_family("system-rules", 1);
  tasks.insert(tasks.end(), more.begin(), more.end());
  write_tasks(dir + "/t.jsonl", tasks);
  const auto back = read_tasks(dir + "/t.jsonl");
  ASSERT_EQ(back.size(), tasks.size());
  for (size_t i = 0; i < tasks.size(); ++i) EXPECT_EQ(back[i].to_json(), tasks[i].to_json());
}

TEST(TaskFiles, BadRecordsAreErrorsNamingFileAndLine) {
  const std::string dir = temp_dir();
  const std::string good = make_family("arithmetic", 1)[0].to_json().dump();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {good + "\n{not json\n", "t.jsonl:2"},
      {good + "\n\n[1, 2]\n", "t.jsonl:3"},
      {good + "\n" + good + "\n", "appears twice"},
      {"{\"id\": \"a\", \"family\": \"x\", \"prompt\": \"p\"}\n", "verifier"},
      {"{\"id\": \"a\", \"family\": \"x\", \"prompt\": 5, \"verifier\": {\"type\": \"number\"}}\n", "prompt"},
      {"{\"id\": \"a\", \"family\": \"x\", \"prompt\": \"p\", \"split\": \"dev\", \"verifier\": {\"type\": \"number\"}}\n", "split"},
  };
  for (const auto& [text, expected] : cases) {
    write_file_atomic(dir + "/t.jsonl", text);
    const std::string message = error_of([&] { read_tasks(dir + "/t.jsonl"); });
    EXPECT_NE(message.find("t.jsonl:"), std::string::npos) << message;
    EXPECT_NE(message.find(expected), std::string::npos) << message;
  }
  EXPECT_NE(error_of([&] { read_tasks(dir + "/missing.jsonl"); }).find("missing.jsonl"), std::string::npos);
}

TEST(TaskFiles, CompletionsNameFileAndLineAndMustMatchATask) {
  const std::string dir = temp_dir();
  const auto tasks = make_family("arithmetic", 3);
  write_file_atomic(dir + "/c.jsonl", "{\"id\": \"" + tasks[0].id + "\", \"completion\": \"1\"}\n{\"id\": 3}\n");
  std::string message = error_of([&] { read_completions(dir + "/c.jsonl"); });
  EXPECT_NE(message.find("c.jsonl:2"), std::string::npos) << message;
  write_file_atomic(dir + "/c.jsonl", "{\"id\": \"" + tasks[0].id + "\", \"completion\": \"1\"}\n{\"id\": \"nope\", \"completion\": \"1\"}\n");
  const auto completions = read_completions(dir + "/c.jsonl");
  message = error_of([&] { verify_completions(tasks, completions, Verifier(), 1); });
  EXPECT_NE(message.find("c.jsonl:2"), std::string::npos) << message;
  EXPECT_NE(message.find("nope"), std::string::npos) << message;
}

TEST(VerifyReport, WilsonIntervalMatchesHandComputedValues) {
  // 8 of 10 at z = 1.96: the textbook interval (0.4902, 0.9433)
  const auto [lo, hi] = wilson_bounds(8, 10);
  EXPECT_NEAR(lo, 0.4902, 1e-4);
  EXPECT_NEAR(hi, 0.9433, 1e-4);
  const auto [lo0, hi0] = wilson_bounds(0, 20);
  EXPECT_EQ(lo0, 0.0);
  EXPECT_NEAR(hi0, 0.1611, 1e-4);
  EXPECT_EQ(wilson_bounds(0, 0), std::make_pair(0.0, 1.0));
}

TEST(VerifyReport, CountsPerFamilyAndSplitAndListsMissingTasks) {
  auto tasks = make_family("arithmetic", 4);
  auto strings = make_family("strings", 2);
  tasks.insert(tasks.end(), strings.begin(), strings.end());
  std::vector<Completion> completions;
  for (size_t i = 0; i < 3; ++i) {  // arithmetic 0-2: right, right, wrong; task 3 and strings[1] missing
    const std::string answer = tasks[i].verifier["answer"].dump();
    completions.push_back({tasks[i].id, "Answer: " + (i == 2 ? answer + "0" : answer), "c:" + std::to_string(i + 1)});
  }
  completions.push_back({tasks[4].id, "Answer: " + tasks[4].verifier["answer"].dump(), "c:4"});
  completions.push_back({tasks[4].id, "no idea", "c:5"});
  const ordered_json r = verify_completions(tasks, completions, Verifier(), 2);
  EXPECT_EQ(r["families"]["arithmetic"]["n"], 3);
  EXPECT_EQ(r["families"]["arithmetic"]["correct"], 2);
  EXPECT_EQ(r["families"]["strings"]["n"], 2);
  EXPECT_EQ(r["missing"], 2);
  EXPECT_EQ(r["verdicts"].size(), 5u);
  EXPECT_EQ(r["verdicts"][2]["correct"], false);
  EXPECT_EQ(r["verdicts"][4]["where"], "c:5");
  EXPECT_EQ(r["overall"]["n"], 5);
  EXPECT_FALSE(format_verify_report(r).empty());
}
