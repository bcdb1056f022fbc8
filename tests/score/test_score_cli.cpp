// End to end through the prealign binary: score -> label -> classifier, and
// bad input giving a clean non-zero exit naming file:line (or, with --skip-bad,
// a count in the summary) while an existing output file stays as it was.
// Skipped when the binary has not been built (scripts/build.sh builds it).
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <filesystem>

#include "core/json_io.hpp"
#include "score_helpers.hpp"
#include "test_util.hpp"

using namespace prealign;
using namespace prealign::testing;

namespace {

struct CliRun {
  int status;
  std::string output;  // stdout and stderr
};

CliRun run(const std::string& args) {
  int status = 0;
  std::string out = run_capture(std::string(PREALIGN_BINARY) + " " + args + " 2>&1", &status);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

bool have_binary() { return std::filesystem::exists(PREALIGN_BINARY); }

}  // namespace

TEST(ScoreCli, ScoreLabelAndClassifierEndToEnd) {
  if (!have_binary()) GTEST_SKIP() << "prealign not built";
  const std::string dir = temp_dir();
  std::string body;
  for (int i = 0; i < 200; ++i) {
    std::string t = "Entry " + std::to_string(i) + " is plain. ";
    if (i % 3 == 0) t += "Write to user" + std::to_string(i) + "@example.com for details. ";
    t += "Thanks.";
    body += json({{"id", i}, {"text", t}, {"genre", i % 2 ? "fiction" : "news"}}).dump() + "\n";
  }
  write_text(dir + "/in.jsonl", body);
  CliRun s = run("score --config pii " + dir + "/in.jsonl -o " + dir + "/scored.jsonl --summary " + dir + "/sum.json");
  ASSERT_EQ(s.status, 0) << s.output;
  json sum = json::parse(read_text(dir + "/sum.json"));
  EXPECT_EQ(sum["documents"], 200);
  EXPECT_EQ(sum["categories"]["pii"]["over"], 67);  // one e-mail sentence in every third document

  CliRun l = run("label " + dir + "/scored.jsonl --rule pii:0 --context genre=fiction:'<fiction>' -o " + dir +
                 "/labeled.jsonl --report " + dir + "/rep.json");
  ASSERT_EQ(l.status, 0) << l.output;
  json rep = json::parse(read_text(dir + "/rep.json"));
  EXPECT_EQ(rep["tag_segments"]["<|bad|>"], 67);
  EXPECT_EQ(rep["context_documents"]["<fiction>"], 100);
  EXPECT_NE(l.output.find("<|good|>"), std::string::npos);

  CliRun c = run("classifier train " + dir + "/scored.jsonl --from-scores pii --model " + dir + "/gate.bin --epoch 5");
  ASSERT_EQ(c.status, 0) << c.output;
  EXPECT_NE(c.output.find("precision"), std::string::npos);
  json meta = json::parse(read_text(dir + "/gate.bin.json"));
  EXPECT_GT(meta["valid"]["examples"].get<int>(), 0);
  CliRun e = run("classifier eval " + dir + "/scored.jsonl --from-scores pii --model " + dir + "/gate.bin --split all");
  ASSERT_EQ(e.status, 0) << e.output;
}

TEST(ScoreCli, BadInputExitsCleanlyOrIsCountedWithSkipBad) {
  if (!have_binary()) GTEST_SKIP() << "prealign not built";
  const std::string dir = temp_dir();
  write_text(dir + "/in.jsonl", "{\"text\": \"fine.\"}\n{\"text\": \"broken\"\n{\"txt\": \"no text\"}\n");
  write_text(dir + "/out.jsonl", "{\"old\": true}\n");
  CliRun r = run("score --config pii " + dir + "/in.jsonl -o " + dir + "/out.jsonl");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find(dir + "/in.jsonl:2"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--skip-bad"), std::string::npos) << r.output;  // the hint
  EXPECT_EQ(read_text(dir + "/out.jsonl"), "{\"old\": true}\n");
  r = run("score --config pii " + dir + "/in.jsonl -o " + dir + "/out.jsonl --skip-bad --summary " + dir + "/s.json");
  EXPECT_EQ(r.status, 0) << r.output;
  json s = json::parse(read_text(dir + "/s.json"));
  EXPECT_EQ(s["bad_input"], 2);
  EXPECT_EQ(s["documents"], 1);
  ASSERT_EQ(s["first_errors"].size(), 2u);
  EXPECT_NE(s["first_errors"][1].get<std::string>().find("in.jsonl:3"), std::string::npos);
  EXPECT_EQ(read_text(dir + "/out.jsonl").find("\"old\""), std::string::npos);
}

// Hostile inputs through the binary: a line of 70,000 nested "[" is one bad
// record (it used to crash score even with --skip-bad), and a 2 GB sparse text
// file is refused after reading at most the 64 MiB document limit (it used to
// be read whole: 2.27 GB RSS). The child's peak RSS comes from getrusage.
TEST(ScoreCli, HostileInputsCostOneRecordInBoundedMemory) {
  if (!have_binary()) GTEST_SKIP() << "prealign not built";
  const std::string dir = temp_dir();
  std::filesystem::create_directories(dir + "/in");
  write_text(dir + "/in/a.jsonl", "{\"text\": \"fine.\"}\n{\"text\": \"x\", \"m\": " + std::string(70000, '[') +
                                      std::string(70000, ']') + "}\n{\"text\": \"also fine.\"}\n");
  write_text(dir + "/in/b.txt", "A small text file.\n");
  write_text(dir + "/in/sparse.txt", "");
  std::filesystem::resize_file(dir + "/in/sparse.txt", uintmax_t(2) << 30);
  CliRun r = run("score --config pii " + dir + "/in -o " + dir + "/out.jsonl --skip-bad --threads 1 --summary " +
                 dir + "/s.json");
  ASSERT_EQ(r.status, 0) << r.output;
  const json s = json::parse(read_text(dir + "/s.json"));
  EXPECT_EQ(s["documents"], 3);
  EXPECT_EQ(s["bad_input"], 2);
  const std::string errors = s["first_errors"].dump();
  EXPECT_NE(errors.find("a.jsonl:2"), std::string::npos) << errors;
  EXPECT_NE(errors.find("sparse.txt"), std::string::npos) << errors;
  rusage usage{};
  ASSERT_EQ(getrusage(RUSAGE_CHILDREN, &usage), 0);
  EXPECT_LT(usage.ru_maxrss, 400 * 1024) << "peak RSS of a child: " << usage.ru_maxrss / 1024 << " MB";
}
