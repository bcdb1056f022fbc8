#include "core/progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstring>

#include "core/error.hpp"

namespace prealign {

static bool g_quiet = false;
void set_quiet(bool quiet) { g_quiet = quiet; }
void note(const std::string& message) {
  if (!g_quiet) std::fprintf(stderr, "%s\n", message.c_str());
}
void warn(const std::string& message) { std::fprintf(stderr, "warning: %s\n", message.c_str()); }

std::string human_count(double x) {
  char buf[32];
  if (x >= 1e9) std::snprintf(buf, sizeof buf, "%.2fG", x / 1e9);
  else if (x >= 1e6) std::snprintf(buf, sizeof buf, "%.2fM", x / 1e6);
  else if (x >= 1e3) std::snprintf(buf, sizeof buf, "%.1fk", x / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f", x);
  return buf;
}

std::string human_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  char buf[32];
  long t = std::lround(s);
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
  else if (t >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%.1fs", s);
  return buf;
}

std::string human_bytes(double b) {
  char buf[32];
  if (b >= 1e9) std::snprintf(buf, sizeof buf, "%.2f GB", b / 1e9);
  else if (b >= 1e6) std::snprintf(buf, sizeof buf, "%.1f MB", b / 1e6);
  else if (b >= 1e3) std::snprintf(buf, sizeof buf, "%.1f kB", b / 1e3);
  else std::snprintf(buf, sizeof buf, "%.0f B", b);
  return buf;
}

Progress::Progress(std::string label, uint64_t total, double log_every_seconds)
    : label_(std::move(label)), total_(total), every_(log_every_seconds), tty_(::isatty(2) == 1) {
  start_ = last_ = std::chrono::steady_clock::now();
}

double Progress::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string Progress::eta(uint64_t done) const {
  if (done == 0 || total_ == 0) return "?";
  double per = elapsed_seconds() / static_cast<double>(done);
  return human_duration(per * static_cast<double>(total_ > done ? total_ - done : 0));
}

void Progress::update(uint64_t done, const std::string& status, bool force) {
  if (g_quiet) return;
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_).count();
  if (!force && since < (tty_ ? 0.1 : every_)) return;
  last_ = now;
  std::string line = label_;
  if (total_ > 0) {
    if (tty_) {
      const int width = 20;
      int fill = static_cast<int>(width * std::min(1.0, double(done) / double(total_)));
      line += " [" + std::string(fill, '#') + std::string(width - fill, '.') + "]";
    }
    line += " " + std::to_string(done) + "/" + std::to_string(total_);
  }
  if (!status.empty()) line += " | " + status;
  if (total_ > 0) line += " | eta " + eta(done);
  if (tty_) {
    size_t pad = last_width_ > line.size() ? last_width_ - line.size() : 0;
    std::fprintf(stderr, "\r%s%s", line.c_str(), std::string(pad, ' ').c_str());
    last_width_ = line.size();
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
}

void Progress::finish(const std::string& status) {
  if (g_quiet) return;
  if (tty_ && last_width_ > 0) std::fprintf(stderr, "\n");
  std::fprintf(stderr, "%s done in %s%s%s\n", label_.c_str(), human_duration(elapsed_seconds()).c_str(),
               status.empty() ? "" : " | ", status.c_str());
  last_width_ = 0;
}

MetricsLog::MetricsLog(const std::string& path) {
  f_ = std::fopen(path.c_str(), "a");
  if (!f_) fail(path, std::string("cannot open metrics log: ") + std::strerror(errno));
}

MetricsLog::~MetricsLog() {
  if (f_) std::fclose(f_);
}

void MetricsLog::write(const json& record) {
  if (!f_) return;
  std::string line = record.dump() + "\n";
  std::fwrite(line.data(), 1, line.size(), f_);
  std::fflush(f_);
}

}  // namespace prealign
