#include "serve/run_metrics.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.hpp"

namespace prealign {

namespace fs = std::filesystem;

std::string run_metrics_path(const std::string& checkpoint_dir) {
  fs::path p = fs::path(checkpoint_dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  std::error_code ec;
  p = fs::absolute(p, ec);
  if (ec) return "";
  fs::path run = p.parent_path();                                                         // RUN/checkpoint
  if (run.filename() == "checkpoints" && run.has_parent_path()) run = run.parent_path();  // RUN/checkpoints/step-N
  const fs::path log = run / "metrics.jsonl";
  return fs::is_regular_file(log, ec) ? log.string() : "";
}

void Curve::add(int64_t step, double value) {
  last_ = {step, value};
  if (seen_++ % stride_ != 0) return;
  // One place stays free for the last point.
  if (kept_.size() + 1 >= max_points_) {
    // Keep indices 0, 2*stride, 4*stride, ...: the same rule at twice the stride.
    std::vector<CurvePoint> half;
    for (size_t i = 0; i < kept_.size(); i += 2) half.push_back(kept_[i]);
    kept_ = std::move(half);
    stride_ *= 2;
    if ((seen_ - 1) % stride_ != 0) return;
  }
  kept_.push_back(last_);
}

std::vector<CurvePoint> Curve::points() const {
  std::vector<CurvePoint> out = kept_;
  if (seen_ > 0 && (seen_ - 1) % stride_ != 0) out.push_back(last_);
  return out;
}

namespace {

// A step and a finite number from one record, or false.
bool point_of(const json& record, const char* key, int64_t& step, double& value) {
  if (!record.is_object()) return false;
  const auto s = record.find("step"), v = record.find(key);
  if (s == record.end() || v == record.end() || !s->is_number_integer() || !v->is_number()) return false;
  step = s->get<int64_t>();
  value = v->get<double>();
  return std::isfinite(value);
}

void add_record(RunMetrics& m, const std::string& line) {
  if (line.empty()) return;
  const json record = json::parse(line, nullptr, false);
  if (!record.is_object()) {
    ++m.bad_lines;
    return;
  }
  const auto t = record.find("type");
  const std::string type = t != record.end() && t->is_string() ? t->get<std::string>() : "";
  const char* key = type == "train" ? "loss" : type == "eval" ? "val_loss" : nullptr;
  if (!key) return;  // other records are not curves
  int64_t step = 0;
  double value = 0;
  if (!point_of(record, key, step, value)) {
    ++m.bad_lines;
    return;
  }
  (type == "train" ? m.train_loss : m.val_loss).add(step, value);
}

}  // namespace

RunMetrics read_run_metrics(const std::string& path, const MetricsLimits& limits) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, "cannot open the run's metrics log");
  RunMetrics m;
  m.train_loss = Curve(limits.max_points);
  m.val_loss = Curve(limits.max_points);
  in.seekg(0, std::ios::end);
  const uint64_t size = static_cast<uint64_t>(in.tellg());
  bool skip_partial = false;  // started inside a line: its rest is not a record
  if (size > limits.max_bytes) {
    m.skipped_bytes = size - limits.max_bytes;
    skip_partial = true;
  }
  in.seekg(static_cast<std::streamoff>(m.skipped_bytes));
  std::string line;
  bool too_long = false;
  char buf[1 << 16];
  uint64_t left = size - m.skipped_bytes;  // a log still being written may grow meanwhile: read what was there
  while (left > 0 && in) {
    in.read(buf, static_cast<std::streamsize>(std::min<uint64_t>(sizeof buf, left)));
    const size_t got = static_cast<size_t>(in.gcount());
    if (got == 0) break;
    left -= got;
    for (size_t i = 0; i < got; ++i) {
      if (buf[i] != '\n') {
        too_long = too_long || line.size() >= limits.max_line_bytes;
        if (!too_long) line += buf[i];
        continue;
      }
      if (skip_partial) {
        m.skipped_bytes += line.size() + 1;
        skip_partial = false;
      } else if (too_long) {
        ++m.bad_lines;
      } else {
        add_record(m, line);
      }
      line.clear();
      too_long = false;
    }
  }
  // A last line without "\n" is a record being written: complete JSON counts, a cut one does not.
  if (!skip_partial && !too_long && !line.empty()) {
    const uint64_t bad = m.bad_lines;
    add_record(m, line);
    m.bad_lines = bad;
  }
  return m;
}

namespace {

json curve_json(const Curve& c) {
  json points = json::array();
  for (const CurvePoint& p : c.points()) points.push_back({p.step, p.value});
  return {{"points", points}, {"count", c.seen()}, {"stride", c.stride()}};
}

}  // namespace

json run_metrics_json(const RunMetrics& m, const std::string& run_name) {
  return {{"available", true},
          {"run", run_name},
          {"train", curve_json(m.train_loss)},
          {"eval", curve_json(m.val_loss)},
          {"skipped_bytes", m.skipped_bytes},
          {"bad_lines", m.bad_lines}};
}

}  // namespace prealign
