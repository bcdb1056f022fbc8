// `prealign eval bias-bands` on the --tiny demo's conditional model: its counts
// are redone here from the samples it wrote (from their text, not the token
// ids it counted), its Wilson intervals from the closed form, and a banned
// band has no tag at all.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <filesystem>

#include "cli_run.hpp"
#include "core/files.hpp"
#include "core/json_io.hpp"
#include "shared_run.hpp"

using namespace prealign;
using namespace prealign::testing;
namespace fs = std::filesystem;

namespace {

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

// Wilson's interval as the roots of (p - x)^2 = z^2 x (1 - x) / n, solved for x.
std::pair<double, double> wilson_roots(double k, double n) {
  const double z = 1.959963984540054, p = k / n;
  const double a = 1 + z * z / n, b = -(2 * p + z * z / n), c = p * p;
  const double d = std::sqrt(b * b - 4 * a * c);
  return {(-b - d) / (2 * a), (-b + d) / (2 * a)};
}

}  // namespace

TEST(BiasBands, CountsAndIntervalsAreWhatTheSamplesSay) {
  if (!fs::exists(PREALIGN_BINARY)) GTEST_SKIP() << "prealign not built";
  const SharedRun demo = shared_run("demo-tiny", "demo --tiny --out {out}");
  ASSERT_EQ(demo.status, 0) << demo.output;
  const std::string ck = demo.dir + "/conditional/checkpoint", out = temp_dir() + "/bands";
  // The checkpoint's own policy (good_only) bans <|bad|>: no band can move it.
  const CliResult refused = run_prealign("eval bias-bands --model '" + ck + "' --tag '<|bad|>' --samples 2 --out '" + out + "'");
  EXPECT_NE(refused.status, 0);
  EXPECT_NE(refused.output.find("bans it in every state"), std::string::npos) << refused.output;

  const CliResult r = run_prealign("eval bias-bands --model '" + ck + "' --policy good_soft --tag '<|bad|>' "
                                   "--biases 0,-4,ban --samples 24 --max-new-tokens 48 --batch 12 --out '" + out + "'");
  ASSERT_EQ(r.status, 0) << r.output;
  const json report = json::parse(read_file(out + "/report.json"));
  ASSERT_EQ(report["bands"].size(), 3u);
  for (const json& band : report["bands"]) {
    const std::vector<json> samples = jsonl(band["samples_file"].get<std::string>());
    ASSERT_EQ(samples.size(), 24u);
    int with = 0, total = 0, tokens = 0;
    std::array<int, 3> by_p{};
    for (const json& s : samples) {
      // Tags appear in text_with_tags by name and not in text: the difference counts them.
      const int here = static_cast<int>(occurrences(s["text_with_tags"], "<|bad|>") - occurrences(s["text"], "<|bad|>"));
      EXPECT_EQ(here, s["tag_count"].get<int>());
      ASSERT_EQ(s["tag_raw_p"].size(), static_cast<size_t>(here));
      for (const json& p : s["tag_raw_p"]) {
        const double x = p.get<double>();
        EXPECT_TRUE(x > 0 && x <= 1) << x;
        ++by_p[x < 0.1 ? 0 : x < 0.5 ? 1 : 2];
      }
      with += here > 0;
      total += here;
      tokens += s["generated_tokens"].get<int>();
    }
    EXPECT_EQ(band["occurrences_by_raw_p"]["below_0.1"], by_p[0]);
    EXPECT_EQ(band["occurrences_by_raw_p"]["0.1_to_0.5"], by_p[1]);
    EXPECT_EQ(band["occurrences_by_raw_p"]["0.5_and_above"], by_p[2]);
    EXPECT_EQ(band["samples_with_tag"], with) << band.dump();
    EXPECT_EQ(band["occurrences"], total) << band.dump();
    EXPECT_EQ(band["tokens"], tokens) << band.dump();
    const auto [low, high] = wilson_roots(with, 24);
    EXPECT_NEAR(band["share_of_samples"]["value"].get<double>(), with / 24.0, 1e-12);
    EXPECT_NEAR(band["share_of_samples"]["ci_low"].get<double>(), low, 1e-9);
    EXPECT_NEAR(band["share_of_samples"]["ci_high"].get<double>(), high, 1e-9);
    EXPECT_NEAR(band["per_1k_tokens"]["value"].get<double>(), 1000.0 * total / tokens, 1e-9);
    if (band["banned"].get<bool>()) {
      EXPECT_EQ(total, 0) << "banned means never";
    }
    // The printed table row carries the same counts.
    const std::string row = "(" + std::to_string(with) + "/24)";
    EXPECT_NE(r.output.find(row), std::string::npos) << row << " in " << r.output;
  }
  // Lower bias, fewer tags (same seeds in every band; at -4 the model still may emit some).
  EXPECT_GE(report["bands"][0]["occurrences"].get<int>(), report["bands"][1]["occurrences"].get<int>());
}
