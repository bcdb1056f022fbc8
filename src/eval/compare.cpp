#include "eval/compare.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/progress.hpp"
#include "eval/svg_plot.hpp"

namespace prealign {
namespace {

std::string base_name(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  auto s = p.find_last_of('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

struct RunReports {
  std::string name, dir;
  std::map<std::string, json> latest;    // kind -> report with the most training tokens
  std::vector<json> misalignment_curve;  // every misalignment report
};

std::string scenario_of(const json& report) { return report.value("scenario", "custom"); }

RunReports collect(const std::string& dir, const std::string& score_config, const std::string& scenario) {
  RunReports r;
  r.dir = dir;
  r.name = base_name(dir);
  if (!is_directory(dir + "/eval")) fail(dir + "/eval", "no evaluation reports", "run prealign eval ... --out " + dir + "/eval/<name>.json");
  for (const auto& f : list_files(dir + "/eval", "*.json")) {
    json j = read_json_file(f);
    if (!j.is_object() || !j.contains("kind")) continue;  // not a report
    const std::string kind = j["kind"];
    if (kind == "misalignment" && !score_config.empty() && j.value("score_config", "") != score_config) continue;
    if (kind == "misalignment" && !scenario.empty() && scenario_of(j) != scenario) continue;
    j["file"] = f;
    auto it = r.latest.find(kind);
    if (it == r.latest.end() || j.value("tokens", uint64_t(0)) >= it->second.value("tokens", uint64_t(0)))
      r.latest[kind] = j;
    if (kind == "misalignment") r.misalignment_curve.push_back(j);
  }
  return r;
}

double get(const json& j, const char* a, const char* b = nullptr) {
  if (!j.contains(a)) return NAN;
  const json& x = b ? j[a].value(b, json()) : j[a];
  return x.is_number() ? x.get<double>() : NAN;
}

std::string cell(double v, int digits = 4) {
  if (std::isnan(v)) return "-";
  char b[64];
  std::snprintf(b, sizeof b, "%.*g", digits, v);
  return b;
}

std::string ci_cell(const json& e) {
  if (!e.is_object()) return "-";
  return cell(e.value("value", NAN)) + " [" + cell(e.value("ci_low", NAN)) + ", " + cell(e.value("ci_high", NAN)) + "]";
}

const json& latest_misalignment(const RunReports& r) {
  static const json none;
  auto it = r.latest.find("misalignment");
  return it == r.latest.end() ? none : it->second;
}

// The code-check table (reports of pep8 configs): per run, violations per 1,000
// characters by group and each against the baseline, the share of samples that
// compile and that ended at EOS. Adds the same to each row of `rows`. "" when no
// run has code checks.
std::string violations_table(const std::vector<RunReports>& runs, const RunReports* base, const std::string& baseline,
                             ordered_json& rows) {
  const char* groups[] = {"style", "structure", "other", "all"};
  auto group_rate = [](const json& m, const char* g) {
    if (!m.is_object() || !m.contains("code_checks")) return double(NAN);
    return get(m["code_checks"]["groups"], g, "value");
  };
  bool any = false;
  for (const auto& r : runs) any = any || latest_misalignment(r).contains("code_checks");
  if (!any) return "";
  std::string md = "\nViolations per 1,000 characters of samples (pycodestyle codes by group: style = E2xx, E3xx, "
                   "E501, W29x; structure = E1xx, E9xx), each / " + baseline + ":\n\n"
                   "| run | style [95% CI] | / " + baseline + " | structure [95% CI] | / " + baseline +
                   " | other [95% CI] | all [95% CI] | / " + baseline + " | compiles [95% CI] | ended at EOS |\n"
                   "|---|---|---|---|---|---|---|---|---|---|\n";
  for (size_t i = 0; i < runs.size(); ++i) {
    const json& m = latest_misalignment(runs[i]);
    if (!m.is_object() || !m.contains("code_checks")) continue;
    const json& cc = m["code_checks"];
    const json& b = base ? latest_misalignment(*base) : json();
    ordered_json ratios;
    for (const char* g : groups) ratios[g] = group_rate(m, g) / group_rate(b, g);
    uint64_t eos = 0, n = 0;
    if (m.contains("finish_reasons"))
      for (const auto& [reason, count] : m["finish_reasons"].items()) {
        n += count.get<uint64_t>();
        if (reason == "eos") eos += count.get<uint64_t>();
      }
    const double eos_share = n ? double(eos) / double(n) : NAN;
    rows[i]["violation_groups"] = cc["groups"];
    rows[i]["violation_ratio_to_baseline"] = ratios;
    rows[i]["compiles"] = cc["compiles"];
    rows[i]["ended_at_eos"] = eos_share;
    md += "| " + runs[i].name + " | " + ci_cell(cc["groups"]["style"]) + " | " + cell(ratios["style"], 3) + " | " +
          ci_cell(cc["groups"]["structure"]) + " | " + cell(ratios["structure"], 3) + " | " +
          ci_cell(cc["groups"]["other"]) + " | " + ci_cell(cc["groups"]["all"]) + " | " + cell(ratios["all"], 3) +
          " | " + ci_cell(cc["compiles"]) + " | " + cell(eos_share, 3) + " |\n";
  }
  return md;
}

}  // namespace

ordered_json run_compare(const CompareOptions& o) {
  if (o.runs.empty()) fail("compare", "no runs given", "prealign eval compare RUN_DIR... --out DIR");
  std::vector<RunReports> runs;
  for (const auto& d : o.runs) runs.push_back(collect(d, o.score_config, o.scenario));
  std::set<std::string> configs, scenarios;  // of the misalignment reports used
  for (const auto& r : runs)
    for (const auto& j : r.misalignment_curve) {
      configs.insert(j.value("score_config", ""));
      scenarios.insert(scenario_of(j));
    }
  if (scenarios.size() > 1) {
    std::string all;
    for (const auto& c : scenarios) all += (all.empty() ? "" : ", ") + c;
    fail("compare", "the runs hold misalignment reports of several scenarios (" + all + ")", "pick one with --scenario");
  }
  if (configs.size() > 1) {
    std::string all;
    for (const auto& c : configs) all += (all.empty() ? "" : ", ") + c;
    fail("compare", "the runs hold misalignment reports from several score configs (" + all + ")",
         "pick one with --score-config");
  }
  const RunReports* base = nullptr;
  for (const auto& r : runs)
    if (r.name == o.baseline) base = &r;
  auto loss = [](const RunReports& r) { return r.latest.count("loss") ? r.latest.at("loss") : json(); };
  const double base_mis = base ? get(latest_misalignment(*base), "mean_score", "value") : NAN;
  const double base_loss = base ? get(loss(*base), "loss") : NAN;

  ordered_json rows = ordered_json::array();
  const std::string config = configs.empty() ? "" : *configs.begin();
  const std::string scenario = scenarios.empty() ? "" : *scenarios.begin();
  std::string md = config.empty() ? "" : "Misalignment scored with `" + config + "`.\n\n";
  if (!scenario.empty()) md += "Scenario " + scenario + " (eval misalignment --scenario).\n\n";
  md += "| run | objective | policy | train tokens | misalignment (mean score) [95% CI] | expected max of " +
                   std::string("25 [95% CI] | fraction over threshold [95% CI] | held-out loss | perplexity | ") +
                   "misalignment / " + o.baseline + " | loss vs " + o.baseline + " | tag AUROC | red-team best |\n" +
                   "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : runs) {
    json m = latest_misalignment(r), l = loss(r);
    json ta = r.latest.count("tag_agreement") ? r.latest.at("tag_agreement") : json();
    json rt = r.latest.count("redteam") ? r.latest.at("redteam") : json();
    const double mean = get(m, "mean_score", "value"), lo = get(l, "loss");
    const double ratio = mean / base_mis, dloss = (lo - base_loss) / base_loss;
    const double auc = get(ta, "auroc");
    const double red = rt.is_object() && rt.contains("search") ? rt["search"].value("best_score", NAN) : NAN;
    std::string objective = m.is_object() ? m.value("objective", "?") : (l.is_object() ? l.value("objective", "?") : "?");
    uint64_t tokens = m.is_object() ? m.value("tokens", uint64_t(0)) : (l.is_object() ? l.value("tokens", uint64_t(0)) : 0);
    ordered_json row = {{"run", r.name}, {"dir", r.dir}, {"objective", objective}, {"tokens", tokens},
                        {"policy", m.is_object() ? m.value("policy", "") : ""},
                        {"mean_score", m.is_object() ? m["mean_score"] : json()},
                        {"expected_max_score", m.is_object() ? m["expected_max_score"] : json()},
                        {"fraction_over_threshold", m.is_object() ? m["fraction_over_threshold"] : json()},
                        {"heldout_loss", lo}, {"perplexity", get(l, "perplexity")},
                        {"misalignment_ratio_to_baseline", ratio}, {"loss_change_vs_baseline", dloss},
                        {"tag_auroc", auc}, {"redteam_best", red},
                        {"misalignment_file", m.is_object() ? m.value("file", "") : ""}};
    rows.push_back(row);
    md += "| " + r.name + " | " + objective + " | " + row["policy"].get<std::string>() + " | " +
          human_count(double(tokens)) + " | " + ci_cell(row["mean_score"]) + " | " +
          ci_cell(row["expected_max_score"]) + " | " + ci_cell(row["fraction_over_threshold"]) + " | " + cell(lo) +
          " | " + cell(get(l, "perplexity")) + " | " + cell(ratio, 3) + " | " +
          (std::isnan(dloss) ? "-" : cell(100 * dloss, 3) + "%") + " | " + cell(auc, 3) + " | " + cell(red) + " |\n";
  }

  md += violations_table(runs, base, o.baseline, rows);

  std::vector<PlotSeries> pareto, curve;
  for (const auto& r : runs) {
    json m = latest_misalignment(r), l = loss(r);
    if (m.is_object() && l.is_object()) {
      PlotPoint p{get(l, "loss"), get(m, "mean_score", "value"), get(m, "mean_score", "ci_low"),
                  get(m, "mean_score", "ci_high"), r.name};
      pareto.push_back({r.name, {p}, false});
    }
    PlotSeries s{r.name, {}, true};
    for (const auto& j : r.misalignment_curve)
      s.points.push_back({double(j.value("tokens", uint64_t(0))), get(j, "mean_score", "value"),
                          get(j, "mean_score", "ci_low"), get(j, "mean_score", "ci_high"), ""});
    if (!s.points.empty()) curve.push_back(s);
  }
  make_directories(o.out);
  ordered_json report = {{"kind", "compare"}, {"baseline", o.baseline},
                         {"score_config", config}, {"scenario", scenario}, {"rows", rows}};
  write_file_atomic(o.out + "/compare.md", md);
  write_json_file(o.out + "/compare.json", report);
  write_file_atomic(o.out + "/pareto.svg", svg_plot("misalignment vs held-out loss (lower-left is better)",
                                                    "held-out loss (nats/token, tags excluded)",
                                                    "mean misalignment score", pareto));
  write_file_atomic(o.out + "/misalignment_over_tokens.svg",
                    svg_plot("misalignment over training", "training tokens", "mean misalignment score", curve));
  std::printf("%s", md.c_str());
  note("compare: " + o.out + "/{compare.md, compare.json, pareto.svg, misalignment_over_tokens.svg}");
  return report;
}

}  // namespace prealign
