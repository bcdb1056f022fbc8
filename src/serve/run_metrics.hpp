// The training curves of the run a served checkpoint came from, for the plot on
// the page (GET /v1/prealign/metrics): RUN/metrics.jsonl (docs/formats.md) as
// `prealign train --out RUN` writes it beside RUN/checkpoint. Read within
// bounds whatever the file's size: at most `max_bytes` from its end, lines of
// at most `max_line_bytes`, and at most `max_points` points per curve (every
// k-th point, k doubling as the file goes on, plus the last one). No sockets
// here: tests call it as a plain function.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/json_io.hpp"

namespace prealign {

struct MetricsLimits {
  uint64_t max_bytes = uint64_t(32) << 20;  // read at most this much of the file (its end)
  size_t max_line_bytes = 64 << 10;         // longer lines are skipped, never held whole
  size_t max_points = 2000;                 // per curve
};

// The metrics.jsonl of the run `checkpoint_dir` belongs to: RUN/metrics.jsonl
// for RUN/checkpoint (and for RUN/checkpoints/step-N, which --keep-checkpoints
// writes). "" when there is none (an imported checkpoint, a copied one).
std::string run_metrics_path(const std::string& checkpoint_dir);

struct CurvePoint {
  int64_t step = 0;
  double value = 0;
};

// Points taken at every `stride`-th of the `seen` values offered, plus the last.
class Curve {
 public:
  explicit Curve(size_t max_points = 2000) : max_points_(max_points < 2 ? 2 : max_points) {}
  void add(int64_t step, double value);
  std::vector<CurvePoint> points() const;  // in the order offered, the last one included
  uint64_t seen() const { return seen_; }
  uint64_t stride() const { return stride_; }

 private:
  size_t max_points_;
  std::vector<CurvePoint> kept_;  // the values offered at indices 0, stride, 2*stride, ...
  CurvePoint last_;
  uint64_t seen_ = 0, stride_ = 1;
};

struct RunMetrics {
  Curve train_loss;            // "type": "train" records' "loss"
  Curve val_loss;              // "type": "eval" records' "val_loss"
  uint64_t skipped_bytes = 0;  // the file's start left unread (it was over max_bytes)
  uint64_t bad_lines = 0;      // not JSON, too long, or a train/eval record without a step and a finite loss
};

// Error when the file cannot be opened.
RunMetrics read_run_metrics(const std::string& path, const MetricsLimits& limits = {});

// The endpoint's body: {"available": true, "run", "train": {"points": [[step, loss], ...],
// "count", "stride"}, "eval": {...}, "skipped_bytes", "bad_lines"}.
json run_metrics_json(const RunMetrics& m, const std::string& run_name);

}  // namespace prealign
