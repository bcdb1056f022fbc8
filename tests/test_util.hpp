// Shared helpers for tests: a fresh temporary directory per test.
#pragma once
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace prealign::testing {

// A new empty directory under $PREALIGN_TEST_TMP (or /tmp) named after the running test.
inline std::string temp_dir() {
  const char* base = std::getenv("PREALIGN_TEST_TMP");
  // Inside SetUpTestSuite there is no current test, only the suite. ctest runs every test of a
  // suite in its own process, in parallel, so a suite directory is per process: a shared one
  // was wiped by one test's set-up while another test was reading it.
  const auto* unit = ::testing::UnitTest::GetInstance();
  const auto* info = unit->current_test_info();
  std::string name = info ? std::string(info->test_suite_name()) + "." + info->name()
                          : std::string(unit->current_test_suite()->name()) + ".suite-" + std::to_string(getpid());
  std::filesystem::path dir = std::filesystem::path(base ? base : "/tmp/prealign-tests") / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

inline std::string source_path(const std::string& rel) { return std::string(PREALIGN_SOURCE_DIR) + "/" + rel; }

// Runs a shell command and returns its stdout; its wait status goes to *status.
inline std::string run_capture(const std::string& command, int* status = nullptr) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = ::pclose(p);
  if (status) *status = st;
  return out;
}

// A field of /proc/self/status in bytes ("VmRSS", "VmHWM"), 0 if absent.
inline uint64_t proc_status_bytes(const std::string& field) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  uint64_t kb = 0;
  while (std::fgets(line, sizeof line, f))
    if (std::string(line).rfind(field + ":", 0) == 0) kb = std::strtoull(line + field.size() + 1, nullptr, 10);
  std::fclose(f);
  return kb << 10;
}

// Resets the process's peak RSS (VmHWM) to its current RSS and returns that;
// peak_rss() afterwards is the peak of what ran since. A test of bounded memory
// compares the two.
inline uint64_t reset_peak_rss() {
  if (std::FILE* f = std::fopen("/proc/self/clear_refs", "w")) {
    std::fputs("5", f);
    std::fclose(f);
  }
  return proc_status_bytes("VmRSS");
}
inline uint64_t peak_rss() { return proc_status_bytes("VmHWM"); }

}  // namespace prealign::testing
