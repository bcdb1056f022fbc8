// The reader behind GET /v1/prealign/metrics: where a checkpoint's run log is,
// and that reading it stays within its bounds whatever the file holds.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/files.hpp"
#include "serve/run_metrics.hpp"
#include "test_util.hpp"

namespace prealign {
namespace {

using namespace prealign::testing;
namespace fs = std::filesystem;

std::string train_line(int step, double loss) {
  return json{{"type", "train"}, {"step", step}, {"loss", loss}}.dump() + "\n";
}

TEST(RunMetrics, TheLogIsTheRunDirectorys) {
  const std::string dir = temp_dir();
  fs::create_directories(dir + "/run/checkpoint");
  fs::create_directories(dir + "/run/checkpoints/step-000100");
  fs::create_directories(dir + "/imported");
  EXPECT_EQ(run_metrics_path(dir + "/run/checkpoint"), "") << "no log yet";
  write_file_atomic(dir + "/run/metrics.jsonl", train_line(1, 4.0));
  EXPECT_EQ(run_metrics_path(dir + "/run/checkpoint"), dir + "/run/metrics.jsonl");
  EXPECT_EQ(run_metrics_path(dir + "/run/checkpoint/"), dir + "/run/metrics.jsonl");
  EXPECT_EQ(run_metrics_path(dir + "/run/checkpoints/step-000100"), dir + "/run/metrics.jsonl")
      << "--keep-checkpoints copies are two levels down";
  EXPECT_EQ(run_metrics_path(dir + "/imported"), "");
}

TEST(RunMetrics, ACurveKeepsEveryKthPointAndTheLastWithinItsBound) {
  for (const size_t max_points : {2u, 3u, 10u, 100u}) {
    for (const int n : {0, 1, 5, 99, 100, 101, 1000, 12345}) {
      Curve c(max_points);
      for (int i = 0; i < n; ++i) c.add(i, i * 0.5);
      const std::vector<CurvePoint> p = c.points();
      EXPECT_EQ(c.seen(), static_cast<uint64_t>(n));
      EXPECT_LE(p.size(), static_cast<size_t>(n)) << "never more points than values";
      ASSERT_LE(p.size(), max_points) << n << " values, " << max_points << " points";
      if (n == 0) continue;
      EXPECT_EQ(p.front().step, 0);
      EXPECT_EQ(p.back().step, n - 1);
      for (size_t k = 0; k + 1 < p.size(); ++k) EXPECT_EQ(p[k].step, static_cast<int64_t>(k * c.stride()));
      for (const CurvePoint& q : p) EXPECT_EQ(q.value, q.step * 0.5);
      if (static_cast<size_t>(n) < max_points) {
        EXPECT_EQ(p.size(), static_cast<size_t>(n)) << "all kept";
      }
    }
  }
}

TEST(RunMetrics, AHugeLogIsReadFromItsEndOnly) {
  const std::string path = temp_dir() + "/metrics.jsonl";
  std::string log;
  for (int step = 1; step <= 20000; ++step) log += train_line(step, 1000.0 / step);
  write_file_atomic(path, log);
  MetricsLimits limits;
  limits.max_bytes = 64 << 10;
  limits.max_points = 50;
  const RunMetrics m = read_run_metrics(path, limits);
  EXPECT_EQ(m.bad_lines, 0u) << "the line cut by the byte limit is skipped, not counted";
  EXPECT_GE(m.skipped_bytes, log.size() - limits.max_bytes);
  const size_t read = log.size() - m.skipped_bytes;
  EXPECT_LE(read, limits.max_bytes);
  EXPECT_EQ(log[m.skipped_bytes - 1], '\n') << "reading starts at a line";
  const std::vector<CurvePoint> p = m.train_loss.points();
  EXPECT_LE(p.size(), 50u);
  EXPECT_EQ(p.back().step, 20000);
  // The lines read are whole ones: as many as fit in the bytes read.
  const int first = static_cast<int>(
      json::parse(log.substr(m.skipped_bytes, log.find('\n', m.skipped_bytes) - m.skipped_bytes))["step"]);
  EXPECT_EQ(p.front().step, first);
  EXPECT_EQ(m.train_loss.seen(), static_cast<uint64_t>(20000 - first + 1));
  for (const CurvePoint& q : p) EXPECT_EQ(q.value, 1000.0 / q.step);
}

TEST(RunMetrics, LongLinesAndACutLastLineAreSkipped) {
  const std::string path = temp_dir() + "/metrics.jsonl";
  std::string log = train_line(1, 3.0);
  log += "{\"type\": \"train\", \"step\": 2, \"loss\": 2.5, \"note\": \"" + std::string(5000, 'x') + "\"}\n";
  log += train_line(3, 2.0);
  log += "{\"type\": \"eval\", \"step\": 3, \"val_loss\": 2.25}\n";
  log += "{\"type\": 5, \"step\": 3}\n";             // not a curve's record, not an error
  log += "[1, 2]\n";                                 // not a record
  log += "\n";                                       // blank lines are nothing
  log += "{\"type\": \"train\", \"step\": 4, \"lo";  // being written
  write_file_atomic(path, log);
  MetricsLimits limits;
  limits.max_line_bytes = 1000;
  RunMetrics m = read_run_metrics(path, limits);
  ASSERT_EQ(m.train_loss.points().size(), 2u);
  EXPECT_EQ(m.train_loss.points()[1].step, 3);
  ASSERT_EQ(m.val_loss.points().size(), 1u);
  EXPECT_EQ(m.val_loss.points()[0].value, 2.25);
  EXPECT_EQ(m.bad_lines, 2u) << "the long line and the array; the one being written is not an error";
  // Once the last record is complete (even before its "\n") it counts.
  write_file_atomic(path, log + "ss\": 1.5}");
  m = read_run_metrics(path, limits);
  EXPECT_EQ(m.train_loss.points().back().step, 4);
  EXPECT_THROW(read_run_metrics(path + ".missing"), Error);
}

}  // namespace
}  // namespace prealign
