#include "train/resume.hpp"

#include <signal.h>

#include <cerrno>
#include <filesystem>
#include <sstream>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/files.hpp"

namespace prealign {
namespace {

// Settings that do not change what the run computes, or that a user legitimately
// changes mid-run (steps: extend it).
const std::set<std::string> kChangeable = {
    "steps",        "stop_after",      "device",        "out",          "resume",       "auto_resume",
    "eval_every",
    "eval_batches", "save_every",      "keep_checkpoints", "log_every", "precision",    "grad_checkpoint",
    "grad_bucket_mb", "grad_overlap",  "dist_timeout"};

std::string flag_of(const std::string& field) {
  std::string s = "--" + field;
  for (char& c : s)
    if (c == '_') c = '-';
  return s;
}

// Keeps the saved global batch at a new world size: the per-rank batch stays if
// grad-accum can absorb the change, else grad-accum 1 and the batch takes it.
void fit_global_batch(TrainOptions& o, int64_t global, int world_size, const std::string& where) {
  if (global % (int64_t(o.batch_size) * world_size) == 0) {
    o.grad_accum = static_cast<int>(global / (int64_t(o.batch_size) * world_size));
  } else if (global % world_size == 0) {
    o.batch_size = static_cast<int>(global / world_size);
    o.grad_accum = 1;
  } else {
    fail(where, "the run's global batch of " + std::to_string(global) + " sequences cannot be split over " +
                    std::to_string(world_size) + " ranks",
         "resume with a number of ranks that divides " + std::to_string(global));
  }
}

}  // namespace

std::set<std::string> fields_changed_from_defaults(const TrainOptions& o) {
  TrainOptions defaults;
  ordered_json a = config_to_json(const_cast<TrainOptions&>(o)), b = config_to_json(defaults);
  std::set<std::string> out;
  for (auto it = a.begin(); it != a.end(); ++it)
    if (it.value() != b[it.key()]) out.insert(it.key());
  return out;
}

TrainOptions resumed_options(const TrainOptions& now, const std::set<std::string>& given, const json& state,
                             int world_size, const std::string& where) {
  TrainOptions o;
  config_from_json(o, state.at("options"), where);
  ordered_json asked = config_to_json(const_cast<TrainOptions&>(now)), saved = config_to_json(o);
  const int64_t saved_world = state.contains("world_size") ? state.at("world_size").get<int64_t>() : 1;
  const int64_t global = state.contains("global_batch") ? state.at("global_batch").get<int64_t>()
                                                        : int64_t(o.batch_size) * o.grad_accum * saved_world;
  bool batch_given = false;
  for (const std::string& field : given) {
    if (!asked.contains(field) || asked[field] == saved[field]) continue;
    if (field == "batch_size" || field == "grad_accum") {
      batch_given = true;
      continue;
    }
    if (!kChangeable.count(field))
      fail(where, flag_of(field) + " " + asked[field].dump() + " differs from the run's " + saved[field].dump(),
           "a resumed run keeps its settings: drop the flag, or start a new run (another --out) to change it");
  }
  // Apply what may change, then the batch split.
  for (const std::string& field : kChangeable)
    if (given.count(field)) saved[field] = asked[field];
  config_from_json(o, saved, where);
  o.resume = true;
  o.out = now.out;
  o.stop_after = now.stop_after;
  if (batch_given) {
    if (given.count("batch_size")) o.batch_size = now.batch_size;
    if (given.count("grad_accum")) o.grad_accum = now.grad_accum;
    if (int64_t(o.batch_size) * o.grad_accum * world_size != global)
      fail(where, "--batch-size " + std::to_string(o.batch_size) + " x --grad-accum " + std::to_string(o.grad_accum) +
                      " x " + std::to_string(world_size) + " ranks is not the run's global batch of " +
                      std::to_string(global) + " sequences",
           "keep batch x grad-accum x ranks equal to " + std::to_string(global) + ", or drop the flags");
  } else if (int64_t(o.batch_size) * o.grad_accum * world_size != global) {
    fit_global_batch(o, global, world_size, where);
  }
  const int64_t done = state.at("step").get<int64_t>();
  if (o.steps < done)
    fail(where, "--steps " + std::to_string(o.steps) + " is before the checkpoint's step " + std::to_string(done),
         "give --steps at least " + std::to_string(done) + " (more extends the run)");
  return o;
}

void remove_stale_staging(const std::string& target) {
  namespace fs = std::filesystem;
  const fs::path t(target);
  const fs::path dir = t.has_parent_path() ? t.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;
  const std::string stem = t.filename().string();
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    for (const std::string marker : {".staging-", ".old-"}) {
      const std::string prefix = stem + marker;
      if (name.rfind(prefix, 0) != 0) continue;
      // <prefix><pid>-<counter>: only a dead process's leftovers go.
      const std::string rest = name.substr(prefix.size());
      const long pid = std::strtol(rest.c_str(), nullptr, 10);
      if (pid <= 0 || (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)) remove_all(entry.path().string());
    }
  }
}

void trim_metrics_log(const std::string& path, int64_t step) {
  if (!file_exists(path)) return;
  std::istringstream in(read_file(path));
  std::string line, kept;
  bool dropped = false;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json rec = json::parse(line, nullptr, /*allow_exceptions=*/false);
    // A record cut short by the kill is dropped too.
    if (rec.is_discarded() || (rec.is_object() && rec.contains("step") && rec.at("step").is_number() &&
                               rec.at("step").get<int64_t>() > step)) {
      dropped = true;
      continue;
    }
    kept += line + "\n";
  }
  if (dropped) write_file_atomic(path, kept);
}

}  // namespace prealign
