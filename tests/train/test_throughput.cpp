// The MFU peak cache: measured once, and raised (never lowered) by a run that
// reaches more, so a peak measured on a busy machine cannot give MFU > 100% twice.
#include <gtest/gtest.h>
#include <stdlib.h>

#include "core/json_io.hpp"
#include "test_util.hpp"
#include "train/throughput.hpp"

namespace prealign {
namespace {

struct ScopedEnv {
  std::string name;
  ScopedEnv(const char* n, const std::string& v) : name(n) { ::setenv(n, v.c_str(), 1); }
  ~ScopedEnv() { ::unsetenv(name.c_str()); }
};

double only_value(const std::string& path) {
  json cache = read_json_file(path);
  EXPECT_EQ(cache.size(), 1u) << cache.dump();
  return cache.begin()->get<double>();
}

TEST(PeakFlops, MeasuredOnceThenOnlyRaisedByWhatARunReached) {
  ::unsetenv("PREALIGN_PEAK_FLOPS");
  ScopedEnv cache_home("XDG_CACHE_HOME", testing::temp_dir());
  const std::string path = peak_flops_cache_path();
  EXPECT_EQ(path, std::string(std::getenv("XDG_CACHE_HOME")) + "/prealign/peak_flops.json");

  torch::set_num_threads(1);
  const double measured = peak_flops(torch::kCPU, torch::kFloat);
  // A 1-thread float32 matmul on any CPU this runs on: between 1 GFLOP/s and 10 TFLOP/s.
  EXPECT_GT(measured, 1e9);
  EXPECT_LT(measured, 1e13);
  EXPECT_DOUBLE_EQ(only_value(path), measured);
  EXPECT_DOUBLE_EQ(peak_flops(torch::kCPU, torch::kFloat), measured);  // cached, not measured again

  EXPECT_DOUBLE_EQ(raise_peak_flops(torch::kCPU, torch::kFloat, measured / 2), measured);
  EXPECT_DOUBLE_EQ(only_value(path), measured);
  EXPECT_DOUBLE_EQ(raise_peak_flops(torch::kCPU, torch::kFloat, measured * 3), measured * 3);
  EXPECT_DOUBLE_EQ(only_value(path), measured * 3);
  EXPECT_DOUBLE_EQ(peak_flops(torch::kCPU, torch::kFloat), measured * 3);

  // A forced peak is the user's: never rewritten.
  ScopedEnv forced("PREALIGN_PEAK_FLOPS", "1e9");
  EXPECT_DOUBLE_EQ(raise_peak_flops(torch::kCPU, torch::kFloat, 5e9), 1e9);
  EXPECT_DOUBLE_EQ(only_value(path), measured * 3);
}

}  // namespace
}  // namespace prealign
