// Continuing a run (`train --resume`): which settings may change between
// invocations of the same run, how the per-rank batch adapts when the number of
// ranks changes (the global batch — batch × grad-accum × world size — is what
// the run keeps), and cleaning up after an invocation that was killed.
#pragma once
#include <set>
#include <string>

#include "core/json_io.hpp"
#include "train/trainer.hpp"

namespace prealign {

// The options of the resumed run: the saved ones, with what the user asked to
// change applied where that is legitimate (--steps extends the run, logging and
// checkpoint cadence, device, precision, ...), and an Error naming the flag
// where it is not (--lr, --model, --data, ...). `given` are the option names the
// user set (the field names, "lr"); `state` is the checkpoint's train_state.
TrainOptions resumed_options(const TrainOptions& now, const std::set<std::string>& given, const json& state,
                             int world_size, const std::string& where);

// The fields a user changed from their defaults (for callers without a command line).
std::set<std::string> fields_changed_from_defaults(const TrainOptions& o);

// Removes <target>.staging-PID-N and <target>.old-PID-N directories left by
// processes that no longer exist (a run killed while saving).
void remove_stale_staging(const std::string& target);

// Drops the records of steps after `step` from a metrics log (they were written
// by the killed invocation after its last checkpoint and are about to be run
// again), atomically.
void trim_metrics_log(const std::string& path, int64_t step);

}  // namespace prealign
