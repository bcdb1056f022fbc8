// Progress twice: a line or bar for the human at the terminal, and an
// append-only JSONL log for machines.
#pragma once
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "core/json_io.hpp"

namespace prealign {

// Prints a status line to stderr. On a terminal the line is redrawn in place
// (with a bar when the total is known) at most ~10 times a second; otherwise a
// full line is printed at most every `log_every_seconds`, so CI logs stay short.
class Progress {
 public:
  Progress(std::string label, uint64_t total, double log_every_seconds = 10.0);
  // `done` out of total; `status` is the caller's text (e.g. "loss 3.41 | lr 3e-4").
  void update(uint64_t done, const std::string& status, bool force = false);
  void finish(const std::string& status);
  double elapsed_seconds() const;
  std::string eta(uint64_t done) const;  // "3m12s", or "?" before the first unit

 private:
  std::string label_;
  uint64_t total_;
  double every_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_;
  size_t last_width_ = 0;
};

// One JSON object per line, appended and flushed per record, so a crash loses
// at most the record being written and never corrupts earlier ones.
class MetricsLog {
 public:
  MetricsLog() = default;
  explicit MetricsLog(const std::string& path);
  ~MetricsLog();
  MetricsLog(const MetricsLog&) = delete;
  MetricsLog& operator=(const MetricsLog&) = delete;
  void write(const json& record);
  bool enabled() const { return f_ != nullptr; }

 private:
  std::FILE* f_ = nullptr;
};

// Human-friendly numbers: 5.2k, 1.3M; 3m12s; 12.5 MB.
std::string human_count(double x);
std::string human_duration(double seconds);
std::string human_bytes(double bytes);

// Messages for the user on stderr ("prealign: ..."); quiet() silences note().
void note(const std::string& message);
void warn(const std::string& message);
void set_quiet(bool quiet);

}  // namespace prealign
