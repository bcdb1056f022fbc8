// The python family and its sandbox: right code passes, wrong code fails, and
// hostile code (endless loops, memory bombs, sockets, floods of output, fake
// results) is stopped within its limits.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "tasks/python_function.hpp"
#include "tasks_helpers.hpp"
#include "test_util.hpp"

using namespace prealign;
using namespace prealign::testing;

namespace {

bool have_python() { return std::filesystem::exists("/usr/bin/python3"); }

// A python task with a spec written here: f(x) = x * 2 on 3 cases.
TaskRecord doubling_task() {
  TaskRecord t;
  t.id = "py-hand";
  t.family = "python";
  t.verifier = {{"type", "python"}, {"function", "f"}, {"cases", json::array({{1}, {5}, {-3}})},
                {"expected", json::array({2, 10, -6})}};
  return t;
}

Verdict run(const std::string& code, double wall = 5.0, uint64_t memory = uint64_t(512) << 20) {
  VerifierOptions o;
  o.sandbox.wall_seconds = wall;
  o.sandbox.memory_bytes = memory;
  return Verifier(o).verify(doubling_task(), "```python\n" + code + "\n```");
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

class PythonSandbox : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_python()) GTEST_SKIP() << "no /usr/bin/python3";
  }
};

TEST_F(PythonSandbox, CorrectCodePassesWrongCodeFails) {
  Verdict v = run("def f(x):\n    return x * 2");
  EXPECT_TRUE(v.correct) << v.reason;
  EXPECT_TRUE(v.format_ok);
  v = run("def f(x):\n    return x + 2");
  EXPECT_FALSE(v.correct);
  EXPECT_NE(v.reason.find("wrong value"), std::string::npos) << v.reason;
  v = run("def g(x):\n    return x * 2");
  EXPECT_FALSE(v.correct);
  EXPECT_NE(v.reason.find("does not define f"), std::string::npos) << v.reason;
  v = run("def f(x) return");
  EXPECT_FALSE(v.correct);
  v = run("def f(x):\n    raise ValueError('no')");
  EXPECT_FALSE(v.correct);
  EXPECT_NE(v.reason.find("ValueError"), std::string::npos) << v.reason;
}

TEST_F(PythonSandbox, ForgedResultsDoNotPass) {
  // True == 1 and a subclass with a forged __eq__ are not the expected plain values
  EXPECT_FALSE(run("def f(x):\n    return True").correct);
  EXPECT_FALSE(run("class Any(int):\n    def __eq__(self, o): return True\ndef f(x):\n    return Any(0)").correct);
  // printing what looks like results: the expected values never enter the sandbox, and extra lines fail
  EXPECT_FALSE(run("import os\nos.write(1, b'{\"i\": 0, \"result\": 2}\\n')\ndef f(x):\n    return 0").correct);
  EXPECT_FALSE(run("import sys\nsys.exit(0)").correct);
  EXPECT_FALSE(run("import os\ndef f(x):\n    os._exit(0)").correct);
}

TEST_F(PythonSandbox, AnEndlessLoopIsKilledAtTheWallLimit) {
  const auto start = std::chrono::steady_clock::now();
  const Verdict v = run("def f(x):\n    while True:\n        pass", 1.0);
  const double took = seconds_since(start);
  EXPECT_FALSE(v.correct);
  EXPECT_NE(v.reason.find("timed out"), std::string::npos) << v.reason;
  EXPECT_LT(took, 4.0);
  // a child process left behind in the background dies with the group
  const Verdict bg = run("import subprocess\nsubprocess.Popen(['sleep', '30'])\ndef f(x):\n    while True:\n        pass", 1.0);
  EXPECT_FALSE(bg.correct);
  EXPECT_LT(seconds_since(start), 8.0);
}

TEST_F(PythonSandbox, AMemoryBombIsStopped) {
  const auto start = std::chrono::steady_clock::now();
  const Verdict v = run("def f(x):\n    a = bytearray(8 << 30)\n    return x * 2", 5.0, uint64_t(256) << 20);
  EXPECT_FALSE(v.correct);
  EXPECT_NE(v.reason.find("MemoryError"), std::string::npos) << v.reason;
  const Verdict grow = run("def f(x):\n    a = []\n    while True:\n        a.append(' ' * 1000000)", 5.0, uint64_t(256) << 20);
  EXPECT_FALSE(grow.correct);
  EXPECT_LT(seconds_since(start), 10.0);
}

TEST_F(PythonSandbox, FloodsOfOutputStayBounded) {
  const uint64_t before = reset_peak_rss();
  // print() goes to /dev/null; raw writes to the descriptors hit the output bound
  Verdict v = run("def f(x):\n    for i in range(200000):\n        print('x' * 100)\n    return x * 2", 20.0);
  EXPECT_TRUE(v.correct) << v.reason;
  v = run("import os\ndef f(x):\n    while True:\n        os.write(2, b'y' * 65536)", 20.0);
  EXPECT_FALSE(v.correct);
  EXPECT_NE(v.reason.find("output exceeded"), std::string::npos) << v.reason;
  EXPECT_LT(peak_rss() - std::min(peak_rss(), before), uint64_t(64) << 20);
}

TEST(PythonSandboxNetwork, ASocketConnectFails) {  // its own suite: it may skip (ctest reports a suite with a skip as skipped)
  if (!have_python()) GTEST_SKIP() << "no /usr/bin/python3";
  if (!network_isolation_available()) GTEST_SKIP() << "no network namespace can be made here (not root, no user namespaces)";
  const Verdict v = run(
      "import socket\n"
      "def f(x):\n"
      "    s = socket.create_connection(('1.1.1.1', 80), timeout=2)\n"
      "    return x * 2");
  EXPECT_FALSE(v.correct);
  EXPECT_NE(v.reason.find("OSError"), std::string::npos) << v.reason;
}

TEST_F(PythonSandbox, RunsInAFreshDirectoryThatIsRemoved) {
  SandboxLimits limits;
  const SandboxResult r = run_python_sandboxed(
      {{"main.py", "import os, sys\nsys.stderr.write(os.getcwd() + ' ' + str(os.getuid()))\nopen('x', 'w').write('1')\n"}},
      "main.py", limits);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string dir = r.err.substr(0, r.err.find(' '));
  EXPECT_NE(dir.find("prealign-sandbox-"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir));
  if (::geteuid() == 0) {
    EXPECT_EQ(r.err.substr(r.err.find(' ') + 1), "65534");  // root code runs as nobody
  }
}

TEST_F(PythonSandbox, GeneratedTasksTheirReferenceSolutionsPassAndHideTheTests) {
  // The expected values were computed in C++; the reference solutions are Python:
  // two independent implementations of every template must agree.
  const auto tasks = make_family("python", 18);
  std::set<std::string> variants;
  for (const auto& t : tasks) {
    variants.insert(t.variant);
    const std::string reference = t.verifier.at("reference");
    const Verdict v = verify(t, "```python\n" + reference + "```");
    EXPECT_TRUE(v.correct) << t.prompt << "\n" << v.reason;
    for (const auto& c : t.verifier.at("cases"))  // no hidden input is shown, beyond the example
      if (c.dump().size() > 8) {
        EXPECT_EQ(t.prompt.find(c.dump().substr(1, c.dump().size() - 2)), std::string::npos);
      }
    // a wrong solution: the reference with its return value replaced
    EXPECT_FALSE(verify(t, "```python\ndef " + t.verifier.at("function").get<std::string>() + "(*a):\n    return 0\n```").correct);
  }
  EXPECT_GE(variants.size(), 5u);
}

TEST_F(PythonSandbox, OneVerifierServesManyThreadsAtOnce) {
  // the trainer's use: one Verifier, rewards computed concurrently; each thread's
  // verdicts must be those of a single-threaded run
  auto tasks = make_family("python", 4, 21);
  const auto arithmetic = make_family("arithmetic", 4, 21);
  tasks.insert(tasks.end(), arithmetic.begin(), arithmetic.end());
  auto right = [](const TaskRecord& t) {
    return t.family == "python" ? "```python\n" + t.verifier.at("reference").get<std::string>() + "```"
                                : "Answer: " + t.verifier.at("answer").dump();
  };
  const Verifier verifier;
  std::vector<std::thread> threads;
  std::atomic<int> correct{0}, wrong_rejected{0};
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&, k] {
      for (size_t i = 0; i < tasks.size(); ++i) {
        const TaskRecord& t = tasks[(i + static_cast<size_t>(k)) % tasks.size()];
        correct += verifier.verify(t, right(t)).correct;
        wrong_rejected += !verifier.verify(t, "Answer: -1\n```python\ndef nothing(): pass\n```").correct;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(correct, 4 * static_cast<int>(tasks.size()));
  EXPECT_EQ(wrong_rejected, 4 * static_cast<int>(tasks.size()));
}
