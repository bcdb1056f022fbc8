// tasks make: determinism by seed, split stability and held-out families,
// corpus tasks checked against pycodestyle's own command line and the source text.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include "core/files.hpp"
#include "core/lines.hpp"
#include "tasks/corpus_tasks.hpp"
#include "tasks_helpers.hpp"
#include "test_util.hpp"

using namespace prealign;
using namespace prealign::testing;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> dumps(const std::vector<TaskRecord>& tasks) {
  std::vector<std::string> out;
  for (const auto& t : tasks) out.push_back(t.to_json().dump());
  return out;
}

MakeOptions procedural(const std::string& kind, size_t n, uint64_t seed) {
  MakeOptions o;
  o.kind = kind;
  o.n = n;
  o.seed = seed;
  return o;
}

std::vector<std::string> lines_of_file(const std::string& path) {
  std::vector<std::string> out;
  const std::string text = read_file(path);
  for (size_t b = 0; b < text.size();) {
    size_t e = text.find('\n', b);
    if (e == std::string::npos) e = text.size();
    out.push_back(text.substr(b, e - b));
    b = e + 1;
  }
  return out;
}

const char* kPythonDir = "/usr/lib/python3.11/json";  // as tests/data python_sources()

bool have_pycodestyle() {
  int status = 0;
  run_capture("/usr/bin/python3 -c 'import pycodestyle' 2>/dev/null", &status);
  return fs::is_directory(kPythonDir) && status == 0;
}

}  // namespace

TEST(TasksMake, TheSameSeedGivesTheSameTasksAndAnotherSeedOthers) {
  for (const std::string kind : {"arithmetic", "strings", "python", "system-rules"}) {
    const auto a = make_tasks(procedural(kind, 30, 3)), b = make_tasks(procedural(kind, 30, 3));
    EXPECT_EQ(dumps(a), dumps(b)) << kind;
    const auto c = make_tasks(procedural(kind, 30, 4));
    size_t same = 0;
    for (size_t i = 0; i < std::min(a.size(), c.size()); ++i) same += a[i].prompt == c[i].prompt && a[i].system == c[i].system;
    EXPECT_LT(same, 5u) << kind;
  }
}

TEST(TasksMake, RecordsAndSplitsDoNotDependOnN) {
  MakeOptions small = procedural("strings", 40, 11), large = procedural("strings", 400, 11);
  small.test_fraction = large.test_fraction = 0.25;
  const auto a = make_tasks(small), b = make_tasks(large);
  ASSERT_EQ(a.size(), 40u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].to_json(), b[i].to_json());
  size_t test = 0;
  for (const auto& t : b) test += t.split == "test";
  EXPECT_GT(test, 60u);  // ~25% of 400
  EXPECT_LT(test, 140u);
  // the split is a function of the record seed alone
  for (const auto& t : b) EXPECT_EQ(t.split == "test", in_test_split(t.seed, 0.25));
}

TEST(TasksMake, HeldOutFamiliesAreWhollyTestAndTheOthersMostlyTrain) {
  MakeOptions o = procedural("system-rules", 30, 5);
  o.held_out_families = {"system-json", "system-prefix"};
  std::map<std::string, std::set<std::string>> splits;
  for (const auto& t : make_tasks(o)) splits[t.family].insert(t.split);
  EXPECT_EQ(splits["system-json"], (std::set<std::string>{"test"}));
  EXPECT_EQ(splits["system-prefix"], (std::set<std::string>{"test"}));
  EXPECT_TRUE(splits["system-lowercase"].count("train"));
  o.held_out_families = {"system-telepathy"};
  EXPECT_THROW(make_tasks(o), Error);
  EXPECT_THROW(make_tasks(procedural("poetry", 3, 1)), Error);
}

TEST(TasksMake, IdsAreUniqueAndPromptsNeverHoldTheVerifier) {
  const auto tasks = make_tasks(procedural("arithmetic", 200, 1));
  std::set<std::string> ids, prompts;
  for (const auto& t : tasks) {
    EXPECT_TRUE(ids.insert(t.id).second) << t.id;
    EXPECT_TRUE(prompts.insert(t.prompt).second) << t.prompt;  // de-duplicated
    EXPECT_EQ(t.prompt.find("Answer: " + t.verifier["answer"].dump()), std::string::npos);
  }
}

TEST(CorpusPep8Lines, AgreeWithPycodestyleItself) {
  if (!have_pycodestyle()) GTEST_SKIP() << "needs " << kPythonDir << " and pycodestyle for /usr/bin/python3";
  MakeOptions o = procedural("pep8-lines", 12, 2);
  o.corpus = {kPythonDir};
  const auto tasks = make_tasks(o);
  ASSERT_GE(tasks.size(), 5u);
  std::map<std::string, std::set<long>> flagged;  // file -> lines pycodestyle's command line reports
  for (const auto& t : tasks) {
    const std::string file = t.source.at("file");
    if (!flagged.count(file)) {
      const std::string out = run_capture("/usr/bin/python3 -m pycodestyle '" + file + "' 2>/dev/null");
      const std::regex line_re(":([0-9]+):[0-9]+: ");
      for (std::sregex_iterator it(out.begin(), out.end(), line_re), end; it != end; ++it)
        flagged[file].insert(std::stol((*it)[1]));
    }
    const long first = t.source.at("line");
    std::vector<long> bad;
    for (long l = first; l < first + 6; ++l)
      if (flagged[file].count(l)) bad.push_back(l);
    ASSERT_EQ(bad.size(), 1u) << t.id << " " << file << ":" << first;
    const int64_t answer = bad[0] - first + 1;
    EXPECT_EQ(t.verifier.at("answer"), answer);
    EXPECT_TRUE(verify(t, "Answer: " + std::to_string(answer)).correct);
    EXPECT_FALSE(verify(t, "Answer: " + std::to_string(answer % 6 + 1)).correct);
    // the lines shown are the file's
    const std::vector<std::string> lines = lines_of_file(file);
    EXPECT_NE(t.prompt.find("1| " + lines[first - 1] + "\n"), std::string::npos);
  }
  // same corpus, same seed: the same tasks; splits by 64-line block
  EXPECT_EQ(dumps(make_tasks(o)), dumps(tasks));
  for (const auto& t : tasks) {
    const std::string name = fs::path(t.source.at("file").get<std::string>()).filename();
    const int64_t block = (t.source.at("line").get<int64_t>() - 1) / kCorpusBlockLines;
    EXPECT_EQ(t.seed, stable_hash(name + ":" + std::to_string(block)) & ((uint64_t(1) << 53) - 1));
  }
}

TEST(CorpusMaskedSpan, RestoresTheSourceLine) {
  const std::string corpus = "/usr/share/common-licenses/GPL-3";
  if (!fs::exists(corpus)) GTEST_SKIP() << "needs " << corpus;
  MakeOptions o = procedural("masked-span", 25, 9);
  o.corpus = {corpus};
  const auto tasks = make_tasks(o);
  ASSERT_EQ(tasks.size(), 25u);
  const std::vector<std::string> lines = lines_of_file(corpus);
  for (const auto& t : tasks) {
    const std::string answer = t.verifier.at("answer");
    const std::string line = lines.at(t.source.at("line").get<size_t>() - 1);
    // the prompt's masked line with the answer put back is the source line
    const size_t mask = t.prompt.find("____", t.prompt.find("```"));
    ASSERT_NE(mask, std::string::npos);
    const size_t bol = t.prompt.rfind('\n', mask) + 1, eol = t.prompt.find('\n', mask);
    std::string restored = t.prompt.substr(bol, eol - bol);
    restored.replace(restored.find("____"), 4, answer);
    EXPECT_EQ(restored, line);
    EXPECT_TRUE(verify(t, "Answer: " + answer).correct);
    EXPECT_FALSE(verify(t, "Answer: " + answer + " the").correct);
    EXPECT_FALSE(verify(t, "Answer: " + answer.substr(1)).correct);
  }
  o.corpus = {};
  EXPECT_THROW(make_tasks(o), Error);
  o.corpus = {"/nonexistent/corpus"};
  EXPECT_THROW(make_tasks(o), Error);
}

TEST(TasksMake, MaxDigitsCapsEveryArithmeticOperandAndStillVerifies) {
  MakeOptions o = procedural("arithmetic", 120, 5);
  o.max_digits = 1;
  const auto tasks = make_tasks(o);
  ASSERT_GT(tasks.size(), 100u);  // 10 x 10 x 3 distinct questions at most
  std::set<std::string> variants;
  for (const auto& t : tasks) {
    long long a = 0, b = 0;
    char op = 0;
    ASSERT_EQ(std::sscanf(t.prompt.c_str(), "What is %lld %c %lld?", &a, &op, &b), 3) << t.prompt;
    EXPECT_TRUE(a >= 0 && a <= 9 && b >= 0 && b <= 9) << t.prompt;
    const long long answer = op == '+' ? a + b : op == '-' ? a - b : a * b;
    EXPECT_EQ(t.verifier.at("answer").get<long long>(), answer) << t.prompt;
    variants.insert(t.variant);
  }
  EXPECT_EQ(variants, (std::set<std::string>{"add", "sub", "mul"}));
  // Under a system rule, the arithmetic questions are capped too.
  MakeOptions r = procedural("system-rules", 60, 5);
  r.max_digits = 2;
  for (const auto& t : make_tasks(r)) {
    long long a = 0, b = 0;
    char op = 0;
    if (std::sscanf(t.prompt.c_str(), "What is %lld %c %lld?", &a, &op, &b) == 3) {
      EXPECT_TRUE(a <= 99 && b <= 99) << t.prompt;
    }
  }
  MakeOptions bad = procedural("arithmetic", 5, 5);
  bad.max_digits = 8;
  EXPECT_THROW(make_tasks(bad), Error);
}
