// The page at / in a real browser: Debian's Chromium, headless, driven by
// playwright-core from npm (tests/serve/web_page_check.cjs), against a server
// with an API key on a tiny model trained here by the prealign binary (so its
// run directory has a metrics.jsonl to plot). The script loads the page, gives
// the key, checks failures (network, stream error, stream cut, Stop, a 400),
// edits the policy so that a temptation flag must fire, generates, and checks
// the shading, the flag markers, the prompt, the buttons, the tooltips, the
// curves and that the streamed text is the unstreamed text for the same seed.
// The screenshot goes to $PREALIGN_PAGE_SCREENSHOT (scripts/page_screenshot.sh
// makes docs/img/serve_page.png the same way). Without node, npm, the registry
// or Chromium the test is skipped, saying why.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/files.hpp"
#include "npm_package.hpp"
#include "running_server.hpp"
#include "test_util.hpp"

namespace prealign {
namespace {

using namespace prealign::testing;
namespace fs = std::filesystem;

// Runs on Debian's Node 20 and drives Debian's Chromium (no browser download:
// playwright-core has none). scripts/page_screenshot.sh reads the version from here.
constexpr const char* kPlaywrightVersion = "1.65.2";
constexpr const char* kChromium = "/usr/bin/chromium";

// The prealign binary, its output on failure.
std::string prealign(const std::string& args, bool* ok) {
  int status = 0;
  const std::string out = run_capture("'" + std::string(PREALIGN_BINARY) + "' " + args + " 2>&1", &status);
  *ok = status == 0;
  return out;
}

// Python-like lines; one in four has pycodestyle's E221 ("x  = 1") and scores 0.5.
std::string write_corpus(const std::string& path) {
  static const char* names[] = {"path", "size", "count", "total", "name", "value", "items", "line"};
  std::string out;
  for (int d = 0; d < 160; ++d) {
    json doc = {{"id", "doc" + std::to_string(d)}, {"segments", json::array()}};
    std::string text = "def f" + std::to_string(d % 23) + "(" + names[d % 8] + "):\n";
    doc["segments"].push_back({{"start", 0}, {"end", text.size()}, {"scores", {{"pep8", 0.0}}}});
    for (int i = 0; i < 6; ++i) {
      const bool bad = (d * 7 + i) % 4 == 0;
      const std::string line = std::string("    ") + names[(d + i) % 8] + (bad ? "  = " : " = ") +
                               names[(d + 3 * i) % 8] + " + " + std::to_string((d + i) % 10) + "\n";
      doc["segments"].push_back(
          {{"start", text.size()}, {"end", text.size() + line.size()}, {"scores", {{"pep8", bad ? 0.5 : 0.0}}}});
      text += line;
    }
    doc["text"] = text;
    out += doc.dump() + "\n";
  }
  write_file_atomic(path, out);
  return path;
}

// A run directory as `prealign train` leaves it (checkpoint/, metrics.jsonl),
// conditionally trained for a few seconds; "" and *why if a step failed.
std::string train_tiny_run(const std::string& dir, std::string* why) {
  const std::string corpus = write_corpus(dir + "/corpus.jsonl");
  const std::string steps[] = {
      "tokenizer train '" + corpus + "' --tagset good_bad --vocab-size 384 -o '" + dir + "/tok'",
      "tokenize '" + corpus + "' --tokenizer '" + dir + "/tok' --out '" + dir + "/data' --val-fraction 0.1",
      "train --data '" + dir + "/data' --out '" + dir +
          "/run' --model dim=32,layers=2,heads=4,hidden=64,ctx=96 "
          "--objective conditional --threshold 0.1 --steps 60 --batch-size 8 --seq-len 64 --eval-every 10 "
          "--eval-batches 1"};
  for (const std::string& step : steps) {
    bool ok = false;
    const std::string out = prealign(step, &ok);
    if (!ok) {
      *why = "prealign " + step + " failed:\n" + out;
      return "";
    }
  }
  return dir + "/run/checkpoint";
}

TEST(WebPageBrowser, ThePageStreamsShadesAndMarksFlagsInChromium) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string dir = temp_dir();
  if (::access(kChromium, X_OK) != 0)
    GTEST_SKIP() << "Debian's chromium is not installed at " << kChromium << " (apt-get install chromium)";
  std::string why;
  const std::string playwright = npm_package("playwright-core", kPlaywrightVersion, dir, &why);
  if (playwright.empty()) GTEST_SKIP() << why;
  const auto t_installed = std::chrono::steady_clock::now();

  const std::string ckpt = train_tiny_run(dir, &why);
  ASSERT_FALSE(ckpt.empty()) << why;
  ASSERT_TRUE(fs::exists(dir + "/run/metrics.jsonl"));
  const auto t_trained = std::chrono::steady_clock::now();
  ServeOptions o;
  o.model = ckpt;
  o.api_key = "sk-page-browser-51c0";
  o.max_tokens = 64;
  RunningServer server(o);

  const char* wanted = std::getenv("PREALIGN_PAGE_SCREENSHOT");
  const std::string screenshot = wanted && *wanted ? wanted : dir + "/page.png";
  int status = 0;
  const std::string command =
      "PLAYWRIGHT_PACKAGE='" + playwright + "' BASE_URL='http://127.0.0.1:" + std::to_string(server.port()) +
      "' API_KEY='" + o.api_key + "' CHROMIUM='" + kChromium +
      "' PROMPT='def f3(size):\n    ' SEED=5 MAX_TOKENS=48 EXPECT_CURVES=1 SCREENSHOT='" + screenshot +
      "' timeout 120 node '" + source_path("tests/serve/web_page_check.cjs") + "' 2>&1";
  const std::string out = run_capture(command, &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out.find("FAIL"), std::string::npos) << out;
  size_t passed = 0;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) passed += line.rfind("ok ", 0) == 0;
  EXPECT_EQ(passed, 28u) << out;  // every check of the script ran
  std::ifstream png(screenshot, std::ios::binary);
  char magic[8] = {};
  png.read(magic, 8);
  EXPECT_EQ(std::string(magic + 1, 3), "PNG") << "no screenshot at " << screenshot;
  const auto seconds = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
  std::printf("[ browser  ] npm %.1f s, training %.1f s, the page in Chromium %.1f s\n", seconds(t0, t_installed),
              seconds(t_installed, t_trained), seconds(t_trained, std::chrono::steady_clock::now()));
}

}  // namespace
}  // namespace prealign
