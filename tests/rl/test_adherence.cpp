// eval adherence and eval tasks without a model: seen/unseen grouping on a
// handmade tasks file, the report's counts and intervals on handmade verdicts
// against closed forms computed here (Wilson as the roots of its quadratic,
// Newcombe from those roots), and the split selection's errors.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"
#include "core/files.hpp"
#include "rl/adherence.hpp"
#include "rl/task_eval.hpp"
#include "test_util.hpp"

namespace prealign {
namespace {

TaskRecord record(const std::string& id, const std::string& family, const std::string& split) {
  TaskRecord t;
  t.id = id;
  t.family = family;
  t.split = split;
  t.prompt = "What is 1 + 1?";
  if (family.rfind("system-", 0) == 0) t.system = "Reply in lower case.";
  t.verifier = {{"type", "number"}, {"answer", 2}};
  return t;
}

// A handmade tasks file: lowercase trained (train and test records), max-words
// only in test (held out), json only in test but named by --trained-families,
// arithmetic trained but no rule.
std::vector<TaskRecord> handmade() {
  return {record("lc-1", "system-lowercase", "train"), record("lc-2", "system-lowercase", "test"),
          record("lc-3", "system-lowercase", "test"),  record("mw-1", "system-max-words", "test"),
          record("mw-2", "system-max-words", "test"),  record("js-1", "system-json", "test"),
          record("ar-1", "arithmetic", "train"),       record("ar-2", "arithmetic", "test")};
}

std::pair<double, double> wilson_roots(double k, double n) {
  const double z = 1.959963984540054, p = k / n;
  const double a = 1 + z * z / n, b = -(2 * p + z * z / n), c = p * p;
  const double d = std::sqrt(b * b - 4 * a * c);
  return {(-b - d) / (2 * a), (-b + d) / (2 * a)};
}

TEST(Adherence, SeenFamiliesAreThoseWithTrainRecordsOrNamed) {
  const std::vector<TaskRecord> tasks = handmade();
  EXPECT_EQ(seen_families(tasks, ""), (std::set<std::string>{"system-lowercase"})) << "arithmetic has no rule";
  EXPECT_EQ(seen_families(tasks, "system-json"), (std::set<std::string>{"system-json", "system-lowercase"}));
  EXPECT_EQ(seen_families(tasks, "system-json,system-prefix"),
            (std::set<std::string>{"system-json", "system-lowercase", "system-prefix"}));
  try {
    seen_families(tasks, "system-json,arithmetic");
    FAIL() << "a family without a rule was taken";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--trained-families"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("arithmetic"), std::string::npos) << e.what();
  }
  EXPECT_THROW(seen_families(tasks, "system-json,"), Error) << "an empty name is a typo";
}

TEST(Adherence, ReportCountsGroupsAndIntervals) {
  std::vector<TaskRecord> tasks = handmade();
  tasks = select_split(tasks, "test", "handmade.jsonl");
  ASSERT_EQ(tasks.size(), 6u);
  // Samples: lowercase 2 tasks x 3 samples, 5 kept; max-words 2 x 3, 1 kept;
  // json 1 x 3, 3 kept. json is seen when named.
  const std::map<std::string, std::vector<bool>> kept = {
      {"lc-2", {true, true, false}}, {"lc-3", {true, true, true}}, {"mw-1", {false, false, true}},
      {"mw-2", {false, false, false}}, {"js-1", {true, true, true}}};
  std::vector<TaskSample> samples;
  for (size_t i = 0; i < tasks.size(); ++i) {
    if (!kept.count(tasks[i].id)) continue;
    const std::vector<bool>& k = kept.at(tasks[i].id);
    for (size_t s = 0; s < k.size(); ++s) {
      TaskSample x;
      x.task = i;
      x.sample = static_cast<int>(s);
      x.verdict.rule_ok = k[s];
      x.max_temptation = 0.1 * double(i + s);
      samples.push_back(x);
    }
  }
  const ordered_json r = adherence_report(tasks, samples, {"system-lowercase", "system-json"});
  ASSERT_EQ(r["families"].size(), 3u);
  const ordered_json& lc = r["families"]["system-lowercase"];
  EXPECT_EQ(lc["group"], "seen");
  EXPECT_EQ(lc["n"], 6);
  EXPECT_EQ(lc["kept"], 5);
  const auto [lo, hi] = wilson_roots(5, 6);
  EXPECT_NEAR(lc["rate"].get<double>(), 5.0 / 6, 1e-12);
  EXPECT_NEAR(lc["ci_low"].get<double>(), lo, 1e-9);
  EXPECT_NEAR(lc["ci_high"].get<double>(), hi, 1e-9);
  EXPECT_EQ(r["families"]["system-max-words"]["group"], "unseen");
  EXPECT_NEAR(r["families"]["system-json"]["ci_high"].get<double>(), 1.0, 1e-12);

  // Pooled: seen 8 of 9, unseen 1 of 6; Newcombe's hybrid score interval.
  EXPECT_EQ(r["seen"]["n"], 9);
  EXPECT_EQ(r["seen"]["kept"], 8);
  EXPECT_EQ(r["unseen"]["n"], 6);
  EXPECT_EQ(r["unseen"]["kept"], 1);
  const double p1 = 8.0 / 9, p2 = 1.0 / 6;
  const auto [l1, u1] = wilson_roots(8, 9);
  const auto [l2, u2] = wilson_roots(1, 6);
  const ordered_json& d = r["seen_minus_unseen"];
  EXPECT_NEAR(d["value"].get<double>(), p1 - p2, 1e-12);
  EXPECT_NEAR(d["ci_low"].get<double>(), p1 - p2 - std::hypot(p1 - l1, u2 - p2), 1e-9);
  EXPECT_NEAR(d["ci_high"].get<double>(), p1 - p2 + std::hypot(u1 - p1, p2 - l2), 1e-9);
  EXPECT_GT(d["ci_low"].get<double>(), 0) << "8/9 vs 1/6 differ at 95%";

  // Nothing seen: the difference is not defined rather than made up.
  const ordered_json none = adherence_report(tasks, samples, {});
  EXPECT_TRUE(none["seen"].is_null());
  EXPECT_TRUE(none["seen_minus_unseen"].is_null());
  EXPECT_EQ(none["unseen"]["n"], 15);
  EXPECT_EQ(none["unseen"]["kept"], 9);
  const std::string table = format_adherence(none);
  EXPECT_NE(table.find("not defined"), std::string::npos) << table;
}

TEST(TaskEval, TallyCountsAndRates) {
  TaskTally t;
  const bool task_ok[] = {true, true, false, true}, rule_ok[] = {true, false, true, true};
  for (int i = 0; i < 4; ++i) {
    TaskSample s;
    s.verdict.task_ok = task_ok[i];
    s.verdict.rule_ok = rule_ok[i];
    s.verdict.correct = task_ok[i] && rule_ok[i];
    s.verdict.format_ok = i != 0;
    s.mean_temptation = 0.1 * i;
    s.max_temptation = 0.2 * i;
    t.add(s);
  }
  const ordered_json j = t.to_json(true);
  EXPECT_EQ(j["n"], 4);
  EXPECT_EQ(j["task_accuracy"]["count"], 3);
  EXPECT_EQ(j["rule_adherence"]["count"], 3);
  EXPECT_EQ(j["correct"]["count"], 2);
  EXPECT_EQ(j["format_ok"]["count"], 3);
  const auto [lo, hi] = wilson_roots(2, 4);
  EXPECT_NEAR(j["correct"]["ci_low"].get<double>(), lo, 1e-9);
  EXPECT_NEAR(j["correct"]["ci_high"].get<double>(), hi, 1e-9);
  EXPECT_NEAR(j["temptation"]["mean"].get<double>(), 0.15, 1e-12);
  EXPECT_NEAR(j["temptation"]["max"].get<double>(), 0.6, 1e-12);
  EXPECT_FALSE(t.to_json(false).contains("rule_adherence")) << "no rule, no adherence";
}

TEST(TaskEval, SplitSelectionAndItsErrors) {
  const std::vector<TaskRecord> tasks = handmade();
  EXPECT_EQ(select_split(tasks, "train", "t.jsonl").size(), 2u);
  EXPECT_EQ(select_split(tasks, "all", "t.jsonl").size(), tasks.size());
  try {
    select_split(tasks, "validation", "t.jsonl");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown split \"validation\""), std::string::npos) << e.what();
  }
  try {
    select_split({}, "test", "empty.jsonl");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("empty.jsonl"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("no tasks"), std::string::npos) << e.what();
  }
  try {
    select_split({record("a", "arithmetic", "train")}, "test", "only-train.jsonl");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("only-train.jsonl"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("split \"test\""), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace prealign
