#include "tasks/report.hpp"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "core/error.hpp"

namespace prealign {

std::pair<double, double> wilson_bounds(size_t k, size_t n, double z) {
  if (n == 0) return {0.0, 1.0};
  const double p = static_cast<double>(k) / static_cast<double>(n), nn = static_cast<double>(n);
  const double denom = 1 + z * z / nn;
  const double centre = (p + z * z / (2 * nn)) / denom;
  const double half = z * std::sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn)) / denom;
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

namespace {

struct Tally {
  size_t n = 0, correct = 0, task_ok = 0, rule_ok = 0, format_ok = 0;
  double reward = 0;
  void add(const Verdict& v) {
    ++n, correct += v.correct, task_ok += v.task_ok, rule_ok += v.rule_ok, format_ok += v.format_ok;
    reward += v.reward;
  }
  ordered_json to_json() const {
    const auto [lo, hi] = wilson_bounds(correct, n);
    const double d = n ? static_cast<double>(n) : 1.0;
    ordered_json j;
    j["n"] = n;
    j["correct"] = correct;
    j["accuracy"] = correct / d;
    j["ci95"] = {lo, hi};
    j["task_accuracy"] = task_ok / d;
    j["rule_kept"] = rule_ok / d;
    j["format_ok"] = format_ok / d;
    j["mean_reward"] = reward / d;
    return j;
  }
};

// Runs f(i) for i in [0, n) on `jobs` threads; the first exception is rethrown.
template <class F>
void parallel_for(size_t n, int jobs, F f) {
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex m;
  auto work = [&] {
    for (size_t i; (i = next++) < n;) {
      try {
        f(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(m);
        if (!error) error = std::current_exception();
        next = n;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 1; t < std::max(1, jobs); ++t) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace

ordered_json verify_completions(const std::vector<TaskRecord>& tasks, const std::vector<Completion>& completions,
                                const Verifier& verifier, int jobs) {
  std::unordered_map<std::string, size_t> by_id;
  for (size_t i = 0; i < tasks.size(); ++i) by_id[tasks[i].id] = i;
  std::vector<size_t> task_of(completions.size());
  std::vector<bool> answered(tasks.size(), false);
  for (size_t i = 0; i < completions.size(); ++i) {
    const auto it = by_id.find(completions[i].id);
    if (it == by_id.end())
      fail(completions[i].where, "no task has the id \"" + completions[i].id + "\"",
           "are the completions for this tasks file? ids must match the tasks' \"id\" fields");
    task_of[i] = it->second;
    answered[it->second] = true;
  }

  std::vector<Verdict> verdicts(completions.size());
  parallel_for(completions.size(), jobs,
               [&](size_t i) { verdicts[i] = verifier.verify(tasks[task_of[i]], completions[i].completion); });

  Tally all;
  std::map<std::string, Tally> families, splits;
  ordered_json per_completion = ordered_json::array();
  for (size_t i = 0; i < completions.size(); ++i) {
    const TaskRecord& t = tasks[task_of[i]];
    all.add(verdicts[i]);
    families[t.family].add(verdicts[i]);
    splits[t.split].add(verdicts[i]);
    ordered_json v;
    v["id"] = t.id;
    v["family"] = t.family;
    v["split"] = t.split;
    v["where"] = completions[i].where;
    const json verdict = verdicts[i].to_json();  // named: items() of a temporary would dangle
    for (auto& [k, x] : verdict.items()) v[k] = x;
    per_completion.push_back(std::move(v));
  }
  ordered_json missing = ordered_json::array();
  for (size_t i = 0; i < tasks.size(); ++i)
    if (!answered[i]) missing.push_back(tasks[i].id);

  ordered_json report;
  report["tasks"] = tasks.size();
  report["completions"] = completions.size();
  report["missing"] = missing.size();
  report["overall"] = all.to_json();
  report["families"] = ordered_json::object();
  for (const auto& [name, tally] : families) report["families"][name] = tally.to_json();
  report["splits"] = ordered_json::object();
  for (const auto& [name, tally] : splits) report["splits"][name] = tally.to_json();
  report["missing_ids"] = missing;
  report["verdicts"] = per_completion;
  return report;
}

std::string format_verify_report(const ordered_json& report) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-24s %6s %8s %17s %8s\n", "family", "n", "accuracy", "95% CI", "rule");
  out += line;
  auto row = [&](const std::string& name, const ordered_json& f) {
    std::snprintf(line, sizeof line, "%-24s %6zu %8.3f   [%.3f, %.3f] %8.3f\n", name.c_str(), f["n"].get<size_t>(),
                  f["accuracy"].get<double>(), f["ci95"][0].get<double>(), f["ci95"][1].get<double>(),
                  f["rule_kept"].get<double>());
    out += line;
  };
  for (const auto& [name, f] : report["families"].items()) row(name, f);
  for (const auto& [name, f] : report["splits"].items()) row("split " + name, f);
  row("all", report["overall"]);
  if (report["missing"].get<size_t>() > 0)
    out += std::to_string(report["missing"].get<size_t>()) + " tasks had no completion (report: missing_ids)\n";
  return out;
}

}  // namespace prealign
