// `prealign eval tasks` and `eval adherence` end to end on models trained on
// the --tiny demos' data: the reports' counts add up to the samples asked for, `tasks verify`
// re-scoring the completions file finds the same numbers, the intervals agree
// with Wilson's and Newcombe's formulas computed again in Python, the families
// land in the seen and unseen groups the tasks file implies, and bad input
// fails with a message naming what is wrong.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "cli_run.hpp"
#include "core/files.hpp"
#include "core/json_io.hpp"
#include "shared_run.hpp"

using namespace prealign;
using namespace prealign::testing;
namespace fs = std::filesystem;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Arithmetic and every system-rule family, json and prefix held out; half of
// the other records in test so that seen families have test records too.
std::string make_tasks(const std::string& dir) {
  const std::string sys = dir + "/sys.jsonl", ar = dir + "/ar.jsonl", all = dir + "/tasks.jsonl";
  const CliResult a = run_prealign("tasks make --kind system-rules --n 6 --seed 3 --test-fraction 0.5 "
                                   "--held-out-families system-json,system-prefix -o '" + sys + "'");
  EXPECT_EQ(a.status, 0) << a.output;
  const CliResult b = run_prealign("tasks make --kind arithmetic --n 6 --seed 3 --test-fraction 0.5 -o '" + ar + "'");
  EXPECT_EQ(b.status, 0) << b.output;
  write_file_atomic(all, read_file(sys) + read_file(ar));
  return all;
}

// Runs a Python check over the report; it prints "ok" or what differs.
std::string python_check(const std::string& script, const std::string& report) {
  const std::string path = report + ".check.py";
  write_file_atomic(path, script);
  int status = 0;
  const std::string out = run_capture("python3 '" + path + "' '" + report + "' 2>&1", &status);
  return status == 0 ? out : "python failed: " + out;
}

// Wilson from its quadratic, z from the normal quantile: written apart from the C++.
const char* kPythonWilson = R"(
import json, math, sys
from statistics import NormalDist
z = NormalDist().inv_cdf(0.975)
def wilson(k, n):
    p = k / n
    a, b, c = 1 + z * z / n, -(2 * p + z * z / n), p * p
    d = math.sqrt(max(b * b - 4 * a * c, 0.0))
    return (-b - d) / (2 * a), (-b + d) / (2 * a)
)";

class EvalTasks : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(PREALIGN_BINARY)) GTEST_SKIP() << "prealign not built";
    const SharedRun demo = shared_run("demo-tiny", "demo --tiny --out {out}");
    ASSERT_EQ(demo.status, 0) << demo.output;
    short_model_ = demo.dir + "/conditional/checkpoint";
    // The demo's window (64) is shorter than a task's context (~170 tokens with
    // its tokenizer): a conditional model on the same data with a longer one.
    const SharedRun cond = shared_run("eval-tasks-conditional", "train --data '" + demo.dir + "/data' --out {out} "
                                      "--model dim=32,layers=1,heads=2,ctx=512 --steps 4 --batch-size 4 "
                                      "--seq-len 64 --objective conditional");
    ASSERT_EQ(cond.status, 0) << cond.output;
    model_ = cond.dir + "/checkpoint";
    dir_ = temp_dir();
    tasks_ = make_tasks(dir_);
  }
  std::string model_, short_model_, dir_, tasks_;
};

TEST_F(EvalTasks, CountsAddUpAndTasksVerifyAgrees) {
  const std::string out = dir_ + "/report.json", comp = dir_ + "/completions.jsonl";
  const CliResult r = run_prealign("eval tasks --model '" + model_ + "' --tasks '" + tasks_ +
                                   "' --split all --samples 2 --max-new-tokens 16 --seed 5 -o '" + out +
                                   "' --completions '" + comp + "'");
  ASSERT_EQ(r.status, 0) << r.output;
  const json rep = json::parse(read_file(out));
  std::map<std::string, size_t> records;
  for (const json& t : jsonl(tasks_)) ++records[t["family"].get<std::string>()];
  size_t n_tasks = 0;
  for (const auto& [f, n] : records) n_tasks += n;
  EXPECT_EQ(rep["tasks"], n_tasks);
  EXPECT_EQ(rep["samples"], 2 * n_tasks);
  EXPECT_EQ(rep["policy"], "good_only");
  ASSERT_EQ(rep["families"].size(), records.size());
  size_t sum = 0;
  for (const auto& [f, n] : records) {
    EXPECT_EQ(rep["families"][f]["n"], 2 * n) << f;
    sum += rep["families"][f]["n"].get<size_t>();
    EXPECT_EQ(rep["families"][f].contains("rule_adherence"), f != "arithmetic") << f;
  }
  EXPECT_EQ(sum, 2 * n_tasks);

  // The completions: two per task, temptation as the report says.
  const std::vector<json> lines = jsonl(comp);
  ASSERT_EQ(lines.size(), 2 * n_tasks);
  std::map<std::string, std::pair<double, double>> tempt;  // family -> (sum of means, max)
  for (const json& c : lines) {
    auto& [s, m] = tempt[c["family"].get<std::string>()];
    s += c["mean_temptation"].get<double>();
    m = std::max(m, c["max_temptation"].get<double>());
  }
  for (const auto& [f, t] : tempt) {
    EXPECT_NEAR(rep["families"][f]["temptation"]["mean"].get<double>(), t.first / double(2 * records[f]), 1e-6) << f;
    EXPECT_NEAR(rep["families"][f]["temptation"]["max"].get<double>(), t.second, 1e-6) << f;
  }

  // `tasks verify` on the same file finds the same numbers.
  const std::string vout = dir_ + "/verify.json";
  const CliResult v = run_prealign("tasks verify --tasks '" + tasks_ + "' --completions '" + comp + "' -o '" + vout + "'");
  ASSERT_EQ(v.status, 0) << v.output;
  const json ver = json::parse(read_file(vout));
  EXPECT_EQ(ver["missing"], 0);
  for (const auto& [f, fam] : ver["families"].items()) {
    const json& mine = rep["families"][f];
    const double n = fam["n"].get<double>();
    EXPECT_EQ(mine["n"], fam["n"]) << f;
    EXPECT_EQ(mine["correct"]["count"], fam["correct"]) << f;
    EXPECT_NEAR(mine["task_accuracy"]["count"].get<double>(), fam["task_accuracy"].get<double>() * n, 1e-6) << f;
    EXPECT_NEAR(mine["format_ok"]["count"].get<double>(), fam["format_ok"].get<double>() * n, 1e-6) << f;
    if (f != "arithmetic") {
      EXPECT_NEAR(mine["rule_adherence"]["count"].get<double>(), fam["rule_kept"].get<double>() * n, 1e-6) << f;
    }
  }

  // Every rate's interval, recomputed from its count.
  const std::string check = std::string(kPythonWilson) + R"(
rep = json.load(open(sys.argv[1]))
bad = []
for name, f in list(rep["families"].items()) + [("all", rep["overall"])]:
    for key in ("task_accuracy", "rule_adherence", "correct", "format_ok"):
        if key not in f: continue
        r, n = f[key], f["n"]
        lo, hi = wilson(r["count"], n)
        if abs(r["value"] - r["count"] / n) > 1e-12 or abs(r["ci_low"] - lo) > 1e-9 or abs(r["ci_high"] - hi) > 1e-9:
            bad.append((name, key, r, lo, hi))
print("ok" if not bad else bad)
)";
  EXPECT_EQ(python_check(check, out), "ok\n");
}

TEST_F(EvalTasks, AdherenceGroupsSeenAndUnseenFamilies) {
  const std::string out = dir_ + "/adherence.json";
  const CliResult r = run_prealign("eval adherence --model '" + model_ + "' --tasks '" + tasks_ +
                                   "' --samples 3 --max-new-tokens 16 -o '" + out + "'");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "seen - unseen")) << r.output;
  const json rep = json::parse(read_file(out));
  std::map<std::string, size_t> test_records;
  std::set<std::string> trained;
  for (const json& t : jsonl(tasks_)) {
    const std::string f = t["family"];
    if (f.rfind("system-", 0) != 0) continue;
    if (t["split"] == "test") ++test_records[f];
    if (t["split"] == "train") trained.insert(f);
  }
  EXPECT_EQ(trained.count("system-json") + trained.count("system-prefix"), 0u) << "held out";
  ASSERT_EQ(rep["families"].size(), test_records.size()) << rep.dump(1);
  size_t seen_n = 0, unseen_n = 0, seen_k = 0, unseen_k = 0;
  for (const auto& [f, n] : test_records) {
    const json& fam = rep["families"][f];
    EXPECT_EQ(fam["n"], 3 * n) << f;
    EXPECT_EQ(fam["group"], trained.count(f) ? "seen" : "unseen") << f;
    (trained.count(f) ? seen_n : unseen_n) += fam["n"].get<size_t>();
    (trained.count(f) ? seen_k : unseen_k) += fam["kept"].get<size_t>();
  }
  ASSERT_GT(seen_n, 0u);
  ASSERT_GT(unseen_n, 0u);
  EXPECT_EQ(rep["seen"]["n"], seen_n);
  EXPECT_EQ(rep["seen"]["kept"], seen_k);
  EXPECT_EQ(rep["unseen"]["n"], unseen_n);
  EXPECT_EQ(rep["unseen"]["kept"], unseen_k);

  // rule_ok recounted by `tasks verify` from the completions it wrote.
  const std::string vout = dir_ + "/verify.json";
  const CliResult v = run_prealign("tasks verify --tasks '" + tasks_ + "' --completions '" +
                                   rep["completions_file"].get<std::string>() + "' -o '" + vout + "'");
  ASSERT_EQ(v.status, 0) << v.output;
  const json ver = json::parse(read_file(vout));
  for (const auto& [f, fam] : ver["families"].items())
    EXPECT_NEAR(rep["families"][f]["kept"].get<double>(), fam["rule_kept"].get<double>() * fam["n"].get<double>(), 1e-6) << f;

  // Intervals: Wilson per family and pooled, Newcombe's hybrid score for the difference.
  const std::string check = std::string(kPythonWilson) + R"(
rep = json.load(open(sys.argv[1]))
bad = []
rows = list(rep["families"].items()) + [("seen", rep["seen"]), ("unseen", rep["unseen"])]
for name, r in rows:
    lo, hi = wilson(r["kept"], r["n"])
    if abs(r["ci_low"] - lo) > 1e-9 or abs(r["ci_high"] - hi) > 1e-9: bad.append((name, r, lo, hi))
s, u = rep["seen"], rep["unseen"]
p1, p2 = s["kept"] / s["n"], u["kept"] / u["n"]
l1, u1 = wilson(s["kept"], s["n"]); l2, u2 = wilson(u["kept"], u["n"])
d = rep["seen_minus_unseen"]
lo = p1 - p2 - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
hi = p1 - p2 + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
if abs(d["value"] - (p1 - p2)) > 1e-12 or abs(d["ci_low"] - lo) > 1e-9 or abs(d["ci_high"] - hi) > 1e-9:
    bad.append(("difference", d, lo, hi))
print("ok" if not bad else bad)
)";
  EXPECT_EQ(python_check(check, out), "ok\n");

  // --trained-families moves a held-out family to the seen group.
  const CliResult named = run_prealign("eval adherence --model '" + model_ + "' --tasks '" + tasks_ +
                                       "' --samples 1 --max-new-tokens 4 --trained-families system-json -o '" +
                                       dir_ + "/named.json'");
  ASSERT_EQ(named.status, 0) << named.output;
  EXPECT_EQ(json::parse(read_file(dir_ + "/named.json"))["families"]["system-json"]["group"], "seen");
}

// The AI-mode model, asked with a seed prompt: the context ends "<AI>seed\n".
TEST_F(EvalTasks, RunsUnderAnAiModePolicyWithASeedPrompt) {
  const SharedRun modes = shared_run("demo-modes-tiny", "demo --modes --tiny --out {out}");
  ASSERT_EQ(modes.status, 0) << modes.output;
  write_file_atomic(dir_ + "/seed.txt", "I am a careful, honest assistant.\n");
  const std::string out = dir_ + "/modes.json";
  const CliResult r = run_prealign("eval tasks --model '" + modes.dir + "/model/checkpoint' --tasks '" + tasks_ +
                                   "' --seed-prompt '" + dir_ + "/seed.txt' --max-new-tokens 12 -o '" + out + "'");
  ASSERT_EQ(r.status, 0) << r.output;
  const json rep = json::parse(read_file(out));
  EXPECT_EQ(rep["policy"], "ai_mode");
  EXPECT_EQ(rep["seed_prompt"], dir_ + "/seed.txt");
  size_t test = 0;
  for (const json& t : jsonl(tasks_)) test += t["split"] == "test";
  EXPECT_EQ(rep["samples"], test);
  EXPECT_EQ(rep["overall"]["n"], test);
}

TEST_F(EvalTasks, BadInputFailsClearly) {
  auto fails_with = [&](const std::string& args, const std::string& expected) {
    const CliResult r = run_prealign(args);
    EXPECT_NE(r.status, 0) << args << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, expected)) << args << "\n" << r.output;
    EXPECT_FALSE(contains(r.output, "terminate called")) << r.output;
  };
  const std::string o = " -o '" + dir_ + "/bad.json'";
  fails_with("eval tasks --model '" + dir_ + "/no-such-model' --tasks '" + tasks_ + "'" + o, "no-such-model");
  write_file_atomic(dir_ + "/empty.jsonl", "");
  fails_with("eval tasks --model '" + model_ + "' --tasks '" + dir_ + "/empty.jsonl'" + o, "empty.jsonl");
  fails_with("eval tasks --model '" + model_ + "' --tasks '" + dir_ + "/missing.jsonl'" + o, "missing.jsonl");
  fails_with("eval tasks --model '" + model_ + "' --tasks '" + tasks_ + "' --split dev" + o, "unknown split \"dev\"");
  write_file_atomic(dir_ + "/broken.jsonl", read_file(tasks_) + "{\"id\": 3}\n");
  fails_with("eval tasks --model '" + model_ + "' --tasks '" + dir_ + "/broken.jsonl'" + o, "broken.jsonl:");
  fails_with("eval tasks --model '" + model_ + "' --tasks '" + tasks_ + "' --samples 0" + o, "--samples");
  fails_with("eval adherence --model '" + model_ + "' --tasks '" + dir_ + "/ar.jsonl'" + o, "no system-rule records");
  fails_with("eval adherence --model '" + model_ + "' --tasks '" + tasks_ + "' --trained-families arithmetic" + o,
             "not a system-rule family");
  fails_with("eval tasks --model '" + model_ + "' --tasks '" + tasks_ + "' --seed-prompt '" + dir_ + "/nope.txt'" + o,
             "nope.txt");
  fails_with("eval tasks --model '" + short_model_ + "' --tasks '" + tasks_ + "'" + o, "the model's window 64");
}

}  // namespace
