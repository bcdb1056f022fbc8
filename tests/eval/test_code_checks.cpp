// Violation codes and compilability of Python samples, against pycodestyle's own
// command line and py_compile run on the same texts as files; the rates against
// sums recomputed here.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "core/utf8.hpp"
#include "eval/code_checks.hpp"
#include "eval/heldout_prompts.hpp"
#include "eval/violation_rates.hpp"
#include "test_util.hpp"

namespace prealign {
namespace {

using prealign::testing::run_capture;
using prealign::testing::temp_dir;

const std::vector<std::string> kSamples = {
    "def f(x):\n    return x+1\n",                          // E226 is in the default ignore list
    "def f(x) :\n  y=1\n  return y\n",                        // E203, E111 x2, E225
    "import os\ndef g():\n    pass\n",                        // E302
    "def h(:\n    pass\n",                                    // a syntax error: E999-class, no compile
    "x = 1   \n\n\n\n\ny = [1,2]\n",                          // W291, E303, E231
    "class C:\n    def m(self):\n        return 'é' * 3\n",  // clean, non-ASCII
    "if True:\n\tprint(1)\n",                                 // W191 (tab)
    "def long_name():\n    return '" + std::string(90, 'a') + "'\n",  // E501
    "",                                                       // empty: compiles, no codes
    "def k():\n    return 1",                                 // W292: no newline at end
};

// pycodestyle's command line on a file: code -> count.
std::map<std::string, uint64_t> cli_codes(const std::string& dir, const std::string& file) {
  std::string out = run_capture("cd '" + dir + "' && HOME='" + dir + "' XDG_CONFIG_HOME='" + dir +
                                "' /usr/bin/python3 -m pycodestyle '" + file + "' 2>/dev/null");
  std::map<std::string, uint64_t> codes;
  std::regex re(R"(^.*?:\d+:\d+: ([EW]\d+) .*$)");
  std::istringstream in(out);
  std::string l;
  while (std::getline(in, l)) {
    std::smatch m;
    if (std::regex_match(l, m, re)) ++codes[m[1]];
  }
  return codes;
}

TEST(CodeChecks, MatchPycodestyleCommandLineAndPyCompile) {
  if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no /usr/bin/python3";
  const std::string dir = temp_dir();
  const std::vector<CodeCheck> checks = check_python_texts(kSamples);
  ASSERT_EQ(checks.size(), kSamples.size());
  int failing = 0;
  for (size_t i = 0; i < kSamples.size(); ++i) {
    SCOPED_TRACE("sample " + std::to_string(i));
    const std::string file = "s" + std::to_string(i) + ".py";
    std::ofstream(dir + "/" + file, std::ios::binary) << kSamples[i];
    ASSERT_TRUE(checks[i].checked) << checks[i].error;
    EXPECT_EQ(checks[i].codes, cli_codes(dir, file));
    EXPECT_EQ(checks[i].chars, utf8_length(kSamples[i]));
    int st = 0;
    run_capture("cd '" + dir + "' && /usr/bin/python3 -m py_compile '" + file + "' 2>/dev/null", &st);
    EXPECT_EQ(checks[i].compiles, st == 0);
    failing += st != 0;
  }
  EXPECT_EQ(failing, 1);  // the fixture has one syntax error
  EXPECT_EQ(checks[1].codes.at("E111"), 2u);  // a spot check the fixture was written for
}

TEST(CodeChecks, Groups) {
  EXPECT_EQ(code_group("E225"), "style");
  EXPECT_EQ(code_group("E303"), "style");
  EXPECT_EQ(code_group("E501"), "style");
  EXPECT_EQ(code_group("W291"), "style");
  EXPECT_EQ(code_group("W292"), "style");
  EXPECT_EQ(code_group("E111"), "structure");
  EXPECT_EQ(code_group("E999"), "structure");
  EXPECT_EQ(code_group("E402"), "other");
  EXPECT_EQ(code_group("W191"), "other");
  EXPECT_EQ(code_group("E502"), "other");
  EXPECT_EQ(code_group(""), "other");
}

TEST(ViolationRates, RatiosOfSumsWithIntervalsAndCompileShare) {
  std::vector<CodeCheck> checks(5);
  const uint64_t chars[] = {100, 300, 50, 250, 300};
  for (size_t i = 0; i < checks.size(); ++i) {
    checks[i].checked = true;
    checks[i].chars = chars[i];
    checks[i].compiles = i != 2;
  }
  checks[0].codes = {{"E225", 2}, {"E111", 1}};
  checks[1].codes = {{"E225", 1}};
  checks[3].codes = {{"E501", 3}, {"E402", 1}};
  CodeCheck broken;  // unchecked: left out of everything
  broken.error = "the checker exited";
  broken.chars = 1000000;
  broken.codes = {{"E225", 1000}};
  checks.push_back(broken);

  const ordered_json r = violation_rates(checks, 2000, 7);
  EXPECT_EQ(r["checked"], 5);
  EXPECT_EQ(r["unchecked"], 1);
  EXPECT_EQ(r["chars"], 1000);
  EXPECT_NEAR(r["per_1k_chars"]["E225"]["value"].get<double>(), 1000.0 * 3 / 1000, 1e-12);
  EXPECT_EQ(r["per_1k_chars"]["E225"]["count"], 3);
  EXPECT_EQ(r["per_1k_chars"]["E225"]["group"], "style");
  EXPECT_NEAR(r["groups"]["style"]["value"].get<double>(), 1000.0 * 6 / 1000, 1e-12);      // E225 x3, E501 x3
  EXPECT_NEAR(r["groups"]["structure"]["value"].get<double>(), 1000.0 * 1 / 1000, 1e-12);  // E111
  EXPECT_NEAR(r["groups"]["other"]["value"].get<double>(), 1000.0 * 1 / 1000, 1e-12);      // E402
  EXPECT_NEAR(r["groups"]["all"]["value"].get<double>(), 8.0, 1e-12);
  EXPECT_NEAR(r["compiles"]["value"].get<double>(), 0.8, 1e-12);
  EXPECT_EQ(r["compiles"]["count"], 4);
  // Resampling whole samples: the style rate's interval is proper and brackets the point.
  const auto& style = r["groups"]["style"];
  EXPECT_LT(style["ci_low"].get<double>(), style["value"].get<double>());
  EXPECT_GT(style["ci_high"].get<double>(), style["value"].get<double>());
  EXPECT_GE(style["ci_low"].get<double>(), 0.0);
  // Codes come out in code order.
  std::vector<std::string> order;
  for (const auto& [k, v] : r["per_1k_chars"].items()) order.push_back(k);
  EXPECT_EQ(order, (std::vector<std::string>{"E111", "E225", "E402", "E501"}));
}

// A changelog header is a sentence segment that keeps the blank line and the
// next entry's indentation: it was skipped as multi-line, so pii.sh had no prompts.
TEST(HeldoutPrompts, ASegmentEndingInWhitespaceIsOneLine) {
  EXPECT_EQ(prompt_line("bash (5.2.15-2) unstable; urgency=medium\n\n  "), "bash (5.2.15-2) unstable; urgency=medium");
  EXPECT_EQ(prompt_line("def f(x):\n"), "def f(x):");
  EXPECT_EQ(prompt_line("def f(x):   \r\n"), "def f(x):");
  EXPECT_EQ(prompt_line("a\nb\n"), "");
  EXPECT_EQ(prompt_line(" \n\t"), "");
  EXPECT_EQ(prompt_line("    return x\n"), "    return x");  // leading whitespace is the prompt's
}

}  // namespace
}  // namespace prealign
