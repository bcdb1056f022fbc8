// Statistics against hand-computed values, and the comparison table and plots
// from hand-written reports.
#include <gtest/gtest.h>

#include <cmath>

#include "core/files.hpp"
#include "core/json_io.hpp"
#include "eval/compare.hpp"
#include "eval/stats.hpp"
#include "eval/svg_plot.hpp"
#include "test_util.hpp"

using namespace prealign;

TEST(Stats, MeanMaxOverGroupsAndFractionByHand) {
  std::vector<double> v = {0.1, 0.5, 0.2, 0.0, 0.9, 0.3, 0.4};
  EXPECT_NEAR(mean_of(v), 2.4 / 7, 1e-12);
  EXPECT_NEAR(mean_max_over_groups(v, 3), (0.5 + 0.9 + 0.4) / 3, 1e-12);  // groups {0.1,.5,.2} {0,.9,.3} {.4}
  EXPECT_NEAR(fraction_over(v, 0.3), 3.0 / 7, 1e-12);                     // 0.5, 0.9, 0.4 (0.3 is not over)
}

TEST(Stats, BootstrapIntervalContainsTheMeanAndNarrowsWithData) {
  std::vector<double> small, large;
  for (int i = 0; i < 40; ++i) small.push_back((i * 37 % 11) / 10.0);
  for (int i = 0; i < 4000; ++i) large.push_back((i * 37 % 11) / 10.0);
  Estimate a = bootstrap(small, mean_of, 500, 0.95, 3), b = bootstrap(large, mean_of, 500, 0.95, 3);
  EXPECT_NEAR(a.value, mean_of(small), 1e-12);
  EXPECT_LT(a.low, a.value);
  EXPECT_GT(a.high, a.value);
  EXPECT_LE(b.low, b.value);
  EXPECT_GE(b.high, b.value);
  EXPECT_LT(b.high - b.low, (a.high - a.low) / 4);  // ~10x the data: ~1/sqrt(100) the width
  // The sd of the mean of 40 values of this set is ~0.05: a 95% interval is ~0.2 wide.
  EXPECT_GT(a.high - a.low, 0.1);
  EXPECT_LT(a.high - a.low, 0.35);
  // Deterministic under a seed.
  Estimate again = bootstrap(small, mean_of, 500, 0.95, 3);
  EXPECT_EQ(again.low, a.low);
  EXPECT_EQ(again.high, a.high);
}

TEST(Stats, AurocOfKnownRankings) {
  // Positives 0.35, 0.8; negatives 0.1, 0.4: pairs won 3 of 4.
  EXPECT_NEAR(auroc({0.1, 0.4, 0.35, 0.8}, {false, false, true, true}), 0.75, 1e-12);
  EXPECT_NEAR(auroc({0.1, 0.2, 0.3, 0.4}, {false, false, true, true}), 1.0, 1e-12);
  EXPECT_NEAR(auroc({0.4, 0.3, 0.2, 0.1}, {false, false, true, true}), 0.0, 1e-12);
  EXPECT_NEAR(auroc({0.5, 0.5, 0.5}, {false, true, false}), 0.5, 1e-12);  // ties count half
  EXPECT_TRUE(std::isnan(auroc({0.1, 0.2}, {true, true})));
}

TEST(Stats, CalibrationBinsByHand) {
  double ece = 0;
  auto bins = calibration({0.05, 0.15, 0.95, 0.9, 1.0}, {false, true, true, false, true}, 2, &ece);
  ASSERT_EQ(bins.size(), 2u);
  EXPECT_EQ(bins[0].count, 2u);
  EXPECT_NEAR(bins[0].mean_predicted, 0.1, 1e-12);
  EXPECT_NEAR(bins[0].observed, 0.5, 1e-12);
  EXPECT_EQ(bins[1].count, 3u);  // 1.0 falls in the last bin
  EXPECT_NEAR(bins[1].mean_predicted, 0.95, 1e-12);
  EXPECT_NEAR(bins[1].observed, 2.0 / 3, 1e-12);
  EXPECT_NEAR(ece, (2 * 0.4 + 3 * (0.95 - 2.0 / 3)) / 5, 1e-12);
}

namespace {

void write_report(const std::string& run, const std::string& file, const json& j) {
  make_directories(run + "/eval");
  write_json_file(run + "/eval/" + file, j);
}

json misalignment(double mean, uint64_t tokens) {
  return {{"kind", "misalignment"}, {"objective", "x"}, {"tokens", tokens}, {"policy", "p"},
          {"mean_score", {{"value", mean}, {"ci_low", mean * 0.9}, {"ci_high", mean * 1.1}}},
          {"expected_max_score", {{"value", 2 * mean}, {"ci_low", mean}, {"ci_high", 3 * mean}}},
          {"fraction_over_threshold", {{"value", 0.5}, {"ci_low", 0.4}, {"ci_high", 0.6}}}};
}

}  // namespace

TEST(Compare, RatiosAgainstTheBaselineAndPlots) {
  const std::string dir = prealign::testing::temp_dir();
  write_report(dir + "/mle", "misalignment.json", misalignment(0.1, 1000));
  write_report(dir + "/mle", "misalignment-step-1.json", misalignment(0.2, 500));
  write_report(dir + "/mle", "loss.json", {{"kind", "loss"}, {"tokens", 1000}, {"loss", 2.0}, {"perplexity", 7.389}});
  write_report(dir + "/conditional", "misalignment.json", misalignment(0.02, 1000));
  write_report(dir + "/conditional", "loss.json", {{"kind", "loss"}, {"tokens", 1000}, {"loss", 2.1}, {"perplexity", 8.17}});
  write_report(dir + "/conditional", "notes.json", {{"not", "a report"}});
  CompareOptions o;
  o.runs = {dir + "/mle", dir + "/conditional"};
  o.out = dir + "/cmp";
  ordered_json r = run_compare(o);
  ASSERT_EQ(r["rows"].size(), 2u);
  const auto& mle = r["rows"][0];
  const auto& cond = r["rows"][1];
  EXPECT_NEAR(mle["mean_score"]["value"].get<double>(), 0.1, 1e-12);  // the latest-trained report, not step 1
  EXPECT_NEAR(cond["misalignment_ratio_to_baseline"].get<double>(), 0.2, 1e-12);
  EXPECT_NEAR(cond["loss_change_vs_baseline"].get<double>(), 0.05, 1e-12);
  const std::string md = read_file(dir + "/cmp/compare.md");
  EXPECT_NE(md.find("| conditional |"), std::string::npos);
  EXPECT_NE(md.find("0.02 [0.018, 0.022]"), std::string::npos);
  EXPECT_NE(md.find("5%"), std::string::npos);
  const std::string pareto = read_file(dir + "/cmp/pareto.svg");
  EXPECT_EQ(pareto.rfind("<svg", 0), 0u);
  EXPECT_NE(pareto.find(">conditional</text>"), std::string::npos);
  const std::string curve = read_file(dir + "/cmp/misalignment_over_tokens.svg");
  EXPECT_NE(curve.find("<path d=\"M"), std::string::npos);  // mle has two points: a line
}

// Reports scored with two configs never mix: without --score-config it is an
// error naming both; with it, only that config's reports make the row and the curve.
TEST(Compare, ReportsFromTwoScoreConfigsNeedAChoiceAndNeverMix) {
  const std::string dir = prealign::testing::temp_dir();
  auto scored = [](double mean, uint64_t tokens, const std::string& config) {
    json j = misalignment(mean, tokens);
    j["score_config"] = config;
    return j;
  };
  write_report(dir + "/mle", "misalignment.json", scored(0.1, 1000, "pep8"));
  write_report(dir + "/mle", "misalignment-untruncated.json", scored(0.04, 1000, "pep8_untruncated"));
  write_report(dir + "/mle", "misalignment-untruncated-step-1.json", scored(0.05, 500, "pep8_untruncated"));
  write_report(dir + "/conditional", "misalignment.json", scored(0.08, 1000, "pep8"));
  write_report(dir + "/conditional", "misalignment-untruncated.json", scored(0.01, 1000, "pep8_untruncated"));
  CompareOptions o;
  o.runs = {dir + "/mle", dir + "/conditional"};
  o.out = dir + "/cmp";
  try {
    run_compare(o);
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("pep8, pep8_untruncated"), std::string::npos) << what;
    EXPECT_NE(what.find("--score-config"), std::string::npos) << what;
  }
  o.score_config = "pep8_untruncated";
  ordered_json r = run_compare(o);
  EXPECT_EQ(r["score_config"], "pep8_untruncated");
  EXPECT_NEAR(r["rows"][0]["mean_score"]["value"].get<double>(), 0.04, 1e-12);
  EXPECT_NEAR(r["rows"][1]["misalignment_ratio_to_baseline"].get<double>(), 0.25, 1e-12);
  EXPECT_NE(read_file(dir + "/cmp/compare.md").find("scored with `pep8_untruncated`"), std::string::npos);
  o.score_config = "pep8";
  r = run_compare(o);
  EXPECT_NEAR(r["rows"][1]["misalignment_ratio_to_baseline"].get<double>(), 0.8, 1e-12);
}

// Two scenarios never mix either; the code-check table divides each group's
// rate by the baseline's and counts the samples that ended at EOS.
TEST(Compare, ScenariosNeedAChoiceAndCodeChecksMakeAGroupTable) {
  const std::string dir = prealign::testing::temp_dir();
  auto report = [](double mean, const std::string& scenario, double style, double structure, uint64_t eos) {
    json j = misalignment(mean, 1000);
    j["scenario"] = scenario;
    auto e = [](double v) { return json{{"value", v}, {"ci_low", v / 2}, {"ci_high", v * 2}, {"count", 1}}; };
    j["code_checks"] = {{"groups", {{"style", e(style)}, {"structure", e(structure)}, {"other", e(1.0)},
                                    {"all", e(style + structure + 1.0)}}},
                        {"compiles", e(0.5)}};
    j["finish_reasons"] = {{"eos", eos}, {"length", 100 - eos}};
    return j;
  };
  write_report(dir + "/mle", "misalignment-unconditional.json", report(0.1, "unconditional", 8.0, 2.0, 40));
  write_report(dir + "/mle", "misalignment-functions.json", report(0.2, "functions", 9.0, 3.0, 10));
  write_report(dir + "/conditional", "misalignment-unconditional.json", report(0.05, "unconditional", 2.0, 3.0, 60));
  write_report(dir + "/conditional", "misalignment-functions.json", report(0.1, "functions", 3.0, 3.0, 20));
  CompareOptions o;
  o.runs = {dir + "/mle", dir + "/conditional"};
  o.out = dir + "/cmp";
  try {
    run_compare(o);
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("functions, unconditional"), std::string::npos) << e.what();
  }
  o.scenario = "unconditional";
  ordered_json r = run_compare(o);
  EXPECT_EQ(r["scenario"], "unconditional");
  const auto& cond = r["rows"][1];
  EXPECT_NEAR(cond["misalignment_ratio_to_baseline"].get<double>(), 0.5, 1e-12);
  EXPECT_NEAR(cond["violation_ratio_to_baseline"]["style"].get<double>(), 2.0 / 8.0, 1e-12);
  EXPECT_NEAR(cond["violation_ratio_to_baseline"]["structure"].get<double>(), 3.0 / 2.0, 1e-12);
  EXPECT_NEAR(cond["violation_ratio_to_baseline"]["all"].get<double>(), 6.0 / 11.0, 1e-12);
  EXPECT_NEAR(cond["ended_at_eos"].get<double>(), 0.6, 1e-12);
  const std::string md = read_file(dir + "/cmp/compare.md");
  EXPECT_NE(md.find("Scenario unconditional"), std::string::npos) << md;
  EXPECT_NE(md.find("| conditional | 2 [1, 4] | 0.25 | 3 [1.5, 6] | 1.5 |"), std::string::npos) << md;
}

TEST(Compare, ARunWithoutReportsIsAnErrorNamingIt) {
  const std::string dir = prealign::testing::temp_dir();
  CompareOptions o;
  o.runs = {dir + "/missing"};
  o.out = dir + "/cmp";
  try {
    run_compare(o);
    FAIL() << "expected an error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("missing/eval"), std::string::npos) << e.what();
  }
}

TEST(Svg, EscapesTextAndPlacesPointsInsideThePlot) {
  std::string s = svg_plot("a < b", "x", "y", {{"s&t", {{0, 0, 0, 0, "p"}, {1, 1, 0.5, 1.5, "q"}}, false}}, 400, 300);
  EXPECT_NE(s.find("a &lt; b"), std::string::npos);
  EXPECT_NE(s.find("s&amp;t"), std::string::npos);
  EXPECT_EQ(s.find("nan"), std::string::npos);
}
