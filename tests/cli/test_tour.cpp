// README "A tour" is docs/tour.sh: the README block must be the script's
// commands, and the script (--tiny) must run from a fresh clone's point of view,
// in a scratch directory, producing what the comments say.
#include <glob.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <iostream>

#include "cli_run.hpp"
#include "core/files.hpp"
#include "core/json_io.hpp"
#include "tokenizer/tokenizer.hpp"

using namespace prealign;
using namespace prealign::testing;
namespace fs = std::filesystem;

namespace {

// The text between two marker lines (exclusive); "" when either is missing.
std::string between(const std::string& text, const std::string& begin, const std::string& end) {
  const size_t b = text.find(begin);
  if (b == std::string::npos) return "";
  const size_t start = b + begin.size();
  const size_t e = text.find(end, start);
  return e == std::string::npos ? "" : text.substr(start, e - start);
}

size_t count_glob(const std::string& pattern) {
  glob_t g;
  const size_t n = ::glob(pattern.c_str(), 0, nullptr, &g) == 0 ? g.gl_pathc : 0;
  ::globfree(&g);
  return n;
}

// The line of stdout that parses as a JSON object holding `key`.
json json_line_with(const std::string& output, const std::string& key) {
  for (const std::string& line : lines_of(output))
    if (!line.empty() && line[0] == '{') {
      json j = json::parse(line, nullptr, false);
      if (j.is_object() && j.contains(key)) return j;
    }
  return json();
}

}  // namespace

TEST(Tour, TheReadmeShowsExactlyTheScriptsCommands) {
  const std::string script = between(read_file(source_path("docs/tour.sh")), "# >>> tour\n", "# <<< tour\n");
  const std::string readme = read_file(source_path("README.md"));
  const std::string block = between(readme.substr(readme.find("\n## A tour\n")), "```sh\n", "```\n");
  ASSERT_NE(script, "");
  EXPECT_EQ(block, script) << "README.md \"A tour\" and docs/tour.sh differ: copy the lines between the tour markers";
}

TEST(Tour, TinyRunsInAFreshTemporaryDirectoryAndDoesWhatItSays) {
  if (!fs::exists(PREALIGN_BINARY)) GTEST_SKIP() << "prealign not built";
  const std::string tmp = temp_dir(), cwd = tmp + "/cwd";
  fs::create_directories(cwd);
  const std::vector<std::string> tour_outputs = {"corpus", "corpus.scored.jsonl", "tok", "data", "runs/cond"};
  std::vector<bool> in_source_before;
  for (const auto& f : tour_outputs) in_source_before.push_back(fs::exists(source_path(f)));

  // No DIR: the tour makes its own under $TMPDIR, and writes nothing where it is started.
  const auto t0 = std::chrono::steady_clock::now();
  int st = 0;
  const std::string out = run_capture("cd '" + cwd + "' && TMPDIR='" + tmp + "' PREALIGN='" + PREALIGN_BINARY + "' '" +
                                          source_path("docs/tour.sh") + "' --tiny 2>" + tmp + "/stderr",
                                      &st);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << out << read_file(tmp + "/stderr");
  std::cout << "[ tour --tiny took " << seconds << " s ]\n";
  EXPECT_TRUE(fs::is_empty(cwd));
  for (size_t i = 0; i < tour_outputs.size(); ++i)
    EXPECT_EQ(fs::exists(source_path(tour_outputs[i])), in_source_before[i])
        << tour_outputs[i] << " in the source tree";
  std::string dir;
  for (const auto& e : fs::directory_iterator(tmp))
    if (e.path().filename().string().rfind("prealign-tour.", 0) == 0) dir = e.path().string();
  ASSERT_NE(dir, "") << "no prealign-tour.* directory under TMPDIR";

  // the corpus: the files the glob names, each one scored document
  const size_t files = count_glob("/usr/lib/python3.11/[a-c]*.py");
  EXPECT_EQ(static_cast<size_t>(std::distance(fs::directory_iterator(dir + "/corpus"), fs::directory_iterator())),
            files);
  const std::vector<json> docs = jsonl(dir + "/corpus.scored.jsonl");
  ASSERT_EQ(docs.size(), files);
  EXPECT_TRUE(docs[0]["segments"][0]["scores"].contains("pep8")) << docs[0]["segments"][0].dump();

  // the tag typed as text stays text: no tag id among the ids, and its characters are still there
  const Tokenizer tok = Tokenizer::load_dir(dir + "/tok");
  const json enc = json_line_with(out, "ids");
  ASSERT_TRUE(enc.is_object()) << out;
  std::string pieces;
  for (const json& p : enc["pieces"]) pieces += p.get<std::string>();
  EXPECT_NE(pieces.find("<|bad|>"), std::string::npos) << enc.dump();
  for (int id : tok.tag_ids())
    for (const json& got : enc["ids"]) EXPECT_NE(got.get<int>(), id) << enc.dump();

  // held-out documents exist (the tour must not hit the empty-split case)
  const json dataset = json::parse(read_file(dir + "/data/dataset.json"));
  EXPECT_GT(dataset["totals"]["val"]["documents"].get<int>(), 0) << dataset["totals"].dump();

  // metrics.jsonl: a train line for every step (30 of them, each once), as README says
  std::vector<int64_t> logged, every_step;
  for (const json& m : jsonl(dir + "/runs/cond/metrics.jsonl"))
    if (m["type"] == "train") logged.push_back(m["step"].get<int64_t>());
  for (int64_t s = 1; s <= 30; ++s) every_step.push_back(s);
  EXPECT_EQ(logged, every_step);

  // generate under good_only: <|bad|> is never emitted, and its temptation is what the total sums
  const json gen = json_line_with(out, "tokens");
  ASSERT_TRUE(gen.is_object()) << out;
  EXPECT_EQ(gen["policy"], "good_only");
  ASSERT_FALSE(gen["tokens"].empty());
  for (const json& t : gen["tokens"]) {
    EXPECT_NE(t["text"], "<|bad|>");
    const double bad = t["temptation"].at("<|bad|>").get<double>();
    EXPECT_GE(bad, 0.0);
    EXPECT_LE(bad, 1.0);
    EXPECT_NEAR(t["temptation_total"].get<double>(), bad, 1e-6);
  }
  EXPECT_LT(seconds, 180) << "the tour --tiny is meant to stay under 3 minutes on 2 busy cores";
}

TEST(Tour, RefusesADirectoryThatIsNotEmpty) {
  if (!fs::exists(PREALIGN_BINARY)) GTEST_SKIP() << "prealign not built";
  const std::string dir = temp_dir();
  write_file_atomic(dir + "/keep.txt", "mine");
  int st = 0;
  const std::string out = run_capture(
      "PREALIGN='" + std::string(PREALIGN_BINARY) + "' '" + source_path("docs/tour.sh") + "' --tiny '" + dir + "' 2>&1",
      &st);
  EXPECT_NE(WEXITSTATUS(st), 0) << out;
  EXPECT_NE(out.find("not empty"), std::string::npos) << out;
  EXPECT_EQ(read_file(dir + "/keep.txt"), "mine");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);
}
