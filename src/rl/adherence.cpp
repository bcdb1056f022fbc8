#include "rl/adherence.hpp"

#include <cstdio>
#include <map>

#include "core/error.hpp"
#include "eval/stats.hpp"

namespace prealign {

std::set<std::string> seen_families(const std::vector<TaskRecord>& all_tasks, const std::string& trained) {
  std::set<std::string> seen;
  for (const TaskRecord& t : all_tasks)
    if (t.split == "train" && is_system_rule_family(t.family)) seen.insert(t.family);
  size_t b = 0;
  while (b <= trained.size() && !trained.empty()) {
    size_t e = trained.find(',', b);
    if (e == std::string::npos) e = trained.size();
    const std::string name = trained.substr(b, e - b);
    require(is_system_rule_family(name), "--trained-families",
            "\"" + name + "\" is not a system-rule family", "names look like system-lowercase, system-json, ...");
    seen.insert(name);
    b = e + 1;
  }
  return seen;
}

namespace {

ordered_json adherence_rate_json(uint64_t kept, uint64_t n) {
  const Estimate e = wilson_interval(kept, n);
  return {{"n", n}, {"kept", kept}, {"rate", e.value}, {"ci_low", e.low}, {"ci_high", e.high}};
}

struct Count {
  uint64_t n = 0, kept = 0;
  double temptation_max = 0;
};

}  // namespace

ordered_json adherence_report(const std::vector<TaskRecord>& tasks, const std::vector<TaskSample>& samples,
                              const std::set<std::string>& seen) {
  std::map<std::string, Count> families;
  for (const TaskSample& s : samples) {
    Count& c = families[tasks[s.task].family];
    ++c.n;
    c.kept += s.verdict.rule_ok;
    c.temptation_max = std::max(c.temptation_max, s.max_temptation);
  }
  ordered_json rep;
  rep["families"] = ordered_json::object();
  Count pooled_seen, pooled_unseen;
  for (const auto& [name, c] : families) {
    const bool is_seen = seen.count(name) > 0;
    ordered_json f = adherence_rate_json(c.kept, c.n);
    f["group"] = is_seen ? "seen" : "unseen";
    f["max_temptation"] = c.temptation_max;
    rep["families"][name] = f;
    Count& pool = is_seen ? pooled_seen : pooled_unseen;
    pool.n += c.n;
    pool.kept += c.kept;
  }
  // Pooled over samples: a family with more samples weighs more.
  rep["seen"] = pooled_seen.n ? adherence_rate_json(pooled_seen.kept, pooled_seen.n) : ordered_json(nullptr);
  rep["unseen"] = pooled_unseen.n ? adherence_rate_json(pooled_unseen.kept, pooled_unseen.n) : ordered_json(nullptr);
  if (pooled_seen.n && pooled_unseen.n) {
    const Estimate d = difference_interval(pooled_seen.kept, pooled_seen.n, pooled_unseen.kept, pooled_unseen.n);
    rep["seen_minus_unseen"] = d.to_json();
  } else {
    rep["seen_minus_unseen"] = nullptr;  // one group is empty: nothing to compare
  }
  return rep;
}

ordered_json run_adherence(const AdherenceOptions& o) {
  // Checked before the model is loaded and anything decoded.
  const std::set<std::string> seen = seen_families(read_tasks(o.sampling.tasks), o.trained_families);
  const TaskRun run = run_task_samples(o.sampling, o.out,
                                       [](const TaskRecord& t) { return is_system_rule_family(t.family); });

  ordered_json rep = task_run_header("adherence", run, o.sampling);
  rep["seen_families"] = seen;
  const ordered_json body = adherence_report(run.tasks, run.samples, seen);
  for (const auto& [k, v] : body.items()) rep[k] = v;
  write_report(o.out, rep);
  return rep;
}

std::string format_adherence(const ordered_json& report) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-24s %-7s %6s %7s %18s\n", "rule family", "group", "n", "kept", "95% CI");
  out += line;
  auto row = [&](const std::string& name, const std::string& group, const ordered_json& r) {
    std::snprintf(line, sizeof line, "%-24s %-7s %6llu %7.3f   [%.3f, %.3f]\n", name.c_str(), group.c_str(),
                  static_cast<unsigned long long>(r.at("n").get<uint64_t>()), r.at("rate").get<double>(),
                  r.at("ci_low").get<double>(), r.at("ci_high").get<double>());
    out += line;
  };
  for (const auto& [name, f] : report.at("families").items()) row(name, f.at("group").get<std::string>(), f);
  if (!report.at("seen").is_null()) row("pooled", "seen", report.at("seen"));
  if (!report.at("unseen").is_null()) row("pooled", "unseen", report.at("unseen"));
  const ordered_json& d = report.at("seen_minus_unseen");
  if (d.is_null()) {
    out += "seen - unseen: not defined (one group has no samples)\n";
  } else {
    std::snprintf(line, sizeof line, "seen - unseen: %+.3f   [%+.3f, %+.3f] (Newcombe 95%%)\n",
                  d.at("value").get<double>(), d.at("ci_low").get<double>(), d.at("ci_high").get<double>());
    out += line;
  }
  return out;
}

}  // namespace prealign
