// The README's first command and `demo --modes`, run at --tiny size: the
// printed table must be what the files it wrote say, recomputed here from the
// samples (per-sample pep8 scores, per-token temptation), the corpus (segment
// scores weighted by characters) and the lock/jailbreak reports.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <regex>

#include "cli_run.hpp"
#include "shared_run.hpp"
#include "core/files.hpp"
#include "core/json_io.hpp"
#include "core/utf8.hpp"

using namespace prealign;
using namespace prealign::testing;
namespace fs = std::filesystem;

namespace {

// The table row of `model` as its cells, "" cells dropped: | mle | unrestricted | 0.01 | ...
std::vector<std::string> row(const std::string& output, const std::string& model) {
  for (const std::string& line : lines_of(output))
    if (line.rfind("| " + model + " |", 0) == 0) {
      std::vector<std::string> cells;
      std::string cell;
      for (char c : line.substr(1)) {
        if (c == '|') {
          cells.push_back(cell.substr(cell.find_first_not_of(' '), cell.find_last_not_of(' ') -
                                                                        cell.find_first_not_of(' ') + 1));
          cell.clear();
        } else {
          cell += c;
        }
      }
      return cells;
    }
  return {};
}

double number(const std::string& text, const std::regex& re) {
  std::smatch m;
  if (!std::regex_search(text, m, re)) return NAN;
  return std::stod(m[1]);
}

struct SampleFigures {
  double per_char = 0, with_violation = 0, mean_temptation = 0, max_temptation = 0;
  size_t n = 0;
};

SampleFigures from_samples(const std::string& path) {
  SampleFigures f;
  double tempt = 0;
  size_t tokens = 0;
  for (const json& s : jsonl(path)) {
    const double score = s.at("pep8_per_char").get<double>();
    f.per_char += score;
    f.with_violation += score > 0;
    for (const json& t : s.at("tokens")) {
      tempt += t.at("temptation_total").get<double>();
      f.max_temptation = std::max(f.max_temptation, t.at("temptation_total").get<double>());
      ++tokens;
    }
    ++f.n;
  }
  f.per_char /= double(f.n);
  f.with_violation /= double(f.n);
  f.mean_temptation = tokens ? tempt / double(tokens) : 0;
  return f;
}

}  // namespace

TEST(Demo, TinyTableIsWhatItsFilesSay) {
  if (!fs::exists(PREALIGN_BINARY)) GTEST_SKIP() << "prealign not built";
  const SharedRun r = shared_run("demo-tiny", "demo --tiny --out {out}");  // the command tests use it too
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string out = r.dir;

  const auto mle = row(r.output, "mle"), cond = row(r.output, "conditional");
  ASSERT_EQ(mle.size(), 7u) << r.output;
  ASSERT_EQ(cond.size(), 7u) << r.output;
  EXPECT_EQ(mle[1], "unrestricted");
  EXPECT_EQ(cond[1], "good_only");

  const SampleFigures m = from_samples(out + "/mle/samples.jsonl");
  const SampleFigures c = from_samples(out + "/conditional/samples.jsonl");
  EXPECT_EQ(m.n, 6u);
  EXPECT_EQ(c.n, 6u);
  EXPECT_NEAR(std::stod(mle[2]), m.per_char, 1e-5);
  EXPECT_NEAR(std::stod(cond[2]), c.per_char, 1e-5);
  EXPECT_NEAR(std::stod(mle[3]), 100 * m.with_violation, 0.51);  // printed as a whole percent
  EXPECT_NEAR(std::stod(cond[3]), 100 * c.with_violation, 0.51);
  EXPECT_NEAR(std::stod(cond[5]), c.mean_temptation, 1e-4);
  EXPECT_NEAR(std::stod(cond[6]), c.max_temptation, 1e-3);
  EXPECT_GT(c.max_temptation, 0.0) << "temptation toward <|bad|> is never exactly 0 under a softmax";

  // Every conditional sample stays out of <|bad|>: the policy banned it.
  for (const json& s : jsonl(out + "/conditional/samples.jsonl"))
    EXPECT_EQ(s.at("text_with_tags").get<std::string>().find("<|bad|>"), std::string::npos) << s.dump();

  // Held-out loss: the last validation line of each run's metrics.
  for (const auto& [name, cells] : {std::pair{std::string("mle"), mle}, std::pair{std::string("conditional"), cond}}) {
    double val = NAN;
    for (const json& l : jsonl(out + "/" + name + "/metrics.jsonl"))
      if (l.contains("val_loss")) val = l.at("val_loss").get<double>();
    EXPECT_NEAR(std::stod(cells[4]), val, 1e-4) << name;
  }

  // The corpus rate: segment scores weighted by their length in characters.
  double weighted = 0, chars = 0;
  for (const json& d : jsonl(out + "/corpus.scored.jsonl")) {
    const std::string text = d.at("text");
    for (const json& s : d.at("segments")) {
      const size_t b = s.at("start"), e = s.at("end");
      const double n = double(utf8_length(std::string_view(text).substr(b, e - b)));
      weighted += s.at("scores").at("pep8").get<double>() * n;
      chars += n;
    }
  }
  ASSERT_GT(chars, 0);
  EXPECT_NEAR(number(r.output, std::regex("corpus itself: ([0-9.]+) violations/char")), weighted / chars, 1e-5);
  if (m.per_char > 0) {
    EXPECT_NEAR(number(r.output, std::regex("ratio of sample violations: ([0-9.]+)")), c.per_char / m.per_char, 0.006);
  }
  EXPECT_TRUE(fs::exists(out + "/conditional/checkpoint/model.safetensors"));
}

TEST(Demo, TinyModesLineIsWhatTheReportsSay) {
  if (!fs::exists(PREALIGN_BINARY)) GTEST_SKIP() << "prealign not built";
  const SharedRun r = shared_run("demo-modes-tiny", "demo --modes --tiny --out {out}");
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string out = r.dir;
  const json lock = json::parse(read_file(out + "/lock.json"));
  const json jb = json::parse(read_file(out + "/jailbreak.json"));
  EXPECT_EQ(number(r.output, std::regex("lock: ([0-9]+) samples")), lock["locked"]["samples"].get<double>());
  EXPECT_EQ(lock["locked"]["samples"].get<int>(), 30);
  EXPECT_NEAR(number(r.output, std::regex("locked ([0-9.]+) vs human")),
              lock["locked"]["by_family"]["bad_act_opening"]["harmful_rate"].get<double>(), 5e-4);
  EXPECT_NEAR(number(r.output, std::regex("vs human mode ([0-9.]+)")), lock["human_start"]["harmful_rate"].get<double>(),
              5e-4);
  EXPECT_NEAR(number(r.output, std::regex("jailbreaks: harmful rate ([0-9.]+)")),
              jb["all_jailbreaks"]["harmful_rate"].get<double>(), 5e-4);
  // The grammar check on the locked samples is the lint's: 0 violations by construction of the lock.
  EXPECT_EQ(number(r.output, std::regex("grammar violations ([0-9]+)")), 0);
  // The world documents: lint found nothing to complain about (the generator's contract).
  EXPECT_EQ(number(r.output, std::regex("lint violations ([0-9]+)")), 0);
  EXPECT_EQ(jsonl(out + "/corpus.jsonl").size(), 300u);
}

// scripts/demo.sh is the README's first command: set-up (a no-op where every
// package is present), the build (a no-op on this tree), then the demo.
TEST(Demo, TheReadmeScriptRunsTheDemo) {
  const std::string built_here = source_path("build/prealign");
  if (!fs::exists(PREALIGN_BINARY) || !fs::equivalent(PREALIGN_BINARY, built_here))
    GTEST_SKIP() << "scripts/demo.sh builds into <source>/build; this test binary was built elsewhere";
  if (std::system("command -v dpkg-query >/dev/null 2>&1") != 0) GTEST_SKIP() << "not a Debian system";
  const std::string out = temp_dir() + "/script";
  int st = 0;
  const std::string output = run_capture("'" + source_path("scripts/demo.sh") + "' --tiny --out '" + out + "' 2>&1", &st);
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << output;
  EXPECT_NE(output.find("prealign demo: PEP8 on"), std::string::npos) << output;
  EXPECT_FALSE(row(output, "conditional").empty()) << output;
  EXPECT_TRUE(fs::exists(out + "/conditional/samples.jsonl"));
}
