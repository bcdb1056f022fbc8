// Device parsing, thread set-up and the OpenBLAS thread-policy re-exec.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <malloc.h>
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "core/error.hpp"
#include "model/runtime.hpp"

using namespace prealign;

TEST(Runtime, ParseDevice) {
  EXPECT_EQ(parse_device("cpu"), torch::Device(torch::kCPU));
  for (const char* bad : {"gpu", "cuda:", "cuda:x", "cuda0", "CPU", "cuda:-1"}) EXPECT_THROW(parse_device(bad), Error) << bad;
  if (torch::cuda::is_available()) {
    EXPECT_EQ(parse_device("cuda:0"), torch::Device(torch::kCUDA, 0));
  } else {
    try {
      parse_device("cuda");
      FAIL();
    } catch (const Error& e) {
      EXPECT_NE(e.hint().find("cpu"), std::string::npos);
    }
  }
}

TEST(Runtime, ConfigureThreads) {
  configure_threads(1);
  EXPECT_EQ(torch::get_num_threads(), 1);
  configure_threads(0);
  // 0 = OMP_NUM_THREADS when the environment sets it (a launcher sharing cores), else every core
  // this process may run on.
  cpu_set_t set;
  ASSERT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
  const char* env = std::getenv("OMP_NUM_THREADS");
  const int expected = env && std::atoi(env) > 0 ? std::atoi(env) : CPU_COUNT(&set);
  EXPECT_EQ(torch::get_num_threads(), expected);
  configure_threads(0);  // a second call must not throw (inter-op threads are set once)
  EXPECT_NE(describe_compute().find(std::to_string(expected) + (expected == 1 ? " thread" : " threads")),
            std::string::npos) << describe_compute();
}

TEST(Runtime, DescribeComputeNamesTheBlas) {
  std::string d = describe_compute();
  auto parallel = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_parallel"));
  if (!parallel) {
    EXPECT_NE(d.find("reference BLAS"), std::string::npos) << d;
    return;
  }
  EXPECT_EQ(d.rfind("OpenBLAS 0.", 0), 0u) << d;
  const char* modes[] = {"(serial", "(pthread", "(openmp"};
  EXPECT_NE(d.find(modes[parallel()]), std::string::npos) << d;
}

TEST(Runtime, ReexecRespectsTheUsersWaitPolicy) {
  // A wait policy the user set is kept: the call must return, not re-execute.
  const char* before = std::getenv("OMP_WAIT_POLICY");
  if (!before) ::setenv("OMP_WAIT_POLICY", "ACTIVE", 1);
  char arg0[] = "test_model";
  char* argv[] = {arg0, nullptr};
  reexec_with_thread_policy_if_needed(1, argv);
  EXPECT_STREQ(std::getenv("OMP_WAIT_POLICY"), before ? before : "ACTIVE");
  if (!before) ::unsetenv("OMP_WAIT_POLICY");
}

// Run in a child process with the pthread OpenBLAS preloaded (see below).
// Disabled: it is the child's body, run only with --gtest_also_run_disabled_tests.
TEST(Runtime, DISABLED_ReexecChild) {
  if (!std::getenv("PREALIGN_TEST_REEXEC_CHILD")) GTEST_SKIP() << "only runs as the child of RuntimePthreadBlas.ReexecUnderPthreadBlas";
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::vector<std::string> args;
  for (std::string a; std::getline(in, a, '\0');) args.push_back(a);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  reexec_with_thread_policy_if_needed(int(args.size()), argv.data());  // first run: does not return
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  std::printf("CHILD OMP_WAIT_POLICY=%s BLAS=%s\n", policy ? policy : "(unset)", describe_compute().c_str());
}

// A suite of its own: it skips where the pthread OpenBLAS is not installed, and
// ctest reports a suite with a skipped test as skipped (cmake/gtest_suites.cmake).
TEST(RuntimePthreadBlas, ReexecUnderPthreadBlas) {
  const std::string dir = "/usr/lib/x86_64-linux-gnu/openblas-pthread";
  if (std::system(("test -e " + dir + "/libopenblas.so.0").c_str()) != 0) GTEST_SKIP() << "no pthread OpenBLAS";
  // LD_PRELOAD, not LD_LIBRARY_PATH: the binary's DT_RPATH is searched first.
  std::string cmd = "env -u OMP_WAIT_POLICY PREALIGN_TEST_REEXEC_CHILD=1 LD_PRELOAD=" + dir + "/libopenblas.so.0:" +
                    dir + "/libblas.so.3 /proc/" + std::to_string(getpid()) +
                    "/exe --gtest_also_run_disabled_tests --gtest_filter=Runtime.DISABLED_ReexecChild 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::ostringstream out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.write(buf, std::streamsize(n));
  int status = pclose(p);
  EXPECT_EQ(status, 0) << out.str();
  EXPECT_NE(out.str().find("CHILD OMP_WAIT_POLICY=PASSIVE BLAS=OpenBLAS"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("(pthread"), std::string::npos) << out.str();
}

TEST(Runtime, ReexecSetsPassiveUnderTheOpenMpBlasToo) {
  if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "one core: nothing to wait for";
  std::string cmd = "env -u OMP_WAIT_POLICY PREALIGN_TEST_REEXEC_CHILD=1 /proc/" + std::to_string(getpid()) +
                    "/exe --gtest_also_run_disabled_tests --gtest_filter=Runtime.DISABLED_ReexecChild 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::ostringstream out;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.write(buf, std::streamsize(n));
  EXPECT_EQ(pclose(p), 0) << out.str();
  EXPECT_NE(out.str().find("CHILD OMP_WAIT_POLICY=PASSIVE"), std::string::npos) << out.str();
}

namespace prealign {
namespace {

// glibc serves a large block by a fresh mmap unless told otherwise; a fresh
// mapping faults its pages in again on every first touch (the training-speed
// loss keep_freed_memory_for_reuse removes). mallinfo2().hblkhd counts the
// bytes currently in such mappings.
void* volatile g_sink;  // keeps the compiler from eliding the malloc/free pair

size_t mmapped_bytes_while_holding(size_t n) {
  void* p = std::malloc(n);
  g_sink = p;
  std::memset(p, 1, n);
  const size_t held = ::mallinfo2().hblkhd;
  std::free(p);
  return held;
}

TEST(Runtime, FreedLargeBlocksAreReusedNotMappedAgain) {
  if (std::getenv("MALLOC_MMAP_THRESHOLD_")) GTEST_SKIP() << "MALLOC_MMAP_THRESHOLD_ is set in the environment";
  const size_t n = 64u << 20;  // a 2048 x 8192 float32 logits tensor
  const size_t before = mmapped_bytes_while_holding(n);
  EXPECT_GE(before, n) << "glibc's default should have mapped a 64 MiB block";
  keep_freed_memory_for_reuse();
  EXPECT_LT(mmapped_bytes_while_holding(n), n);
  const size_t heap_before = ::mallinfo2().arena;
  for (int i = 0; i < 4; ++i) mmapped_bytes_while_holding(n);
  EXPECT_LT(::mallinfo2().arena, heap_before + n) << "the same heap block should be reused, not the heap grown";
  EXPECT_GE(::mallinfo2().arena, n) << "and not trimmed away";
}

}  // namespace
}  // namespace prealign
