// `prealign eval adherence` (seed 002: "follow the common sense interpretation
// of a system prompt"): the system-rule tasks of a tasks file sampled and
// verified as `eval tasks` does (task_eval.hpp), and per rule family the rate
// at which samples keep the system prompt's rule, with Wilson 95% intervals.
// Families are grouped into *seen* (trained on) and *unseen* (held out), and
// the pooled seen and unseen rates are compared: their difference with
// Newcombe's interval (eval/stats.hpp). Generalising to rules never trained
// on is the claim under test; a difference whose interval excludes 0 says the
// model keeps seen rules better (or worse) than new ones.
#pragma once
#include <set>
#include <string>
#include <vector>

#include "core/json_io.hpp"
#include "rl/task_eval.hpp"

namespace prealign {

struct AdherenceOptions {
  TaskSamplingOptions sampling;
  std::string trained_families;  // comma-separated: families trained on besides those with train records
  std::string out = "adherence.json";
};

// Seen families: every system-rule family with a train-split record in
// `all_tasks`, plus `trained` (comma-separated names). A listed name that is
// not a system-rule family ("system-...") is an Error naming --trained-families.
std::set<std::string> seen_families(const std::vector<TaskRecord>& all_tasks, const std::string& trained);

// The report from verified samples (pure: no model; the tests call it on
// handmade samples). `tasks` are the evaluated records the samples point into.
ordered_json adherence_report(const std::vector<TaskRecord>& tasks, const std::vector<TaskSample>& samples,
                              const std::set<std::string>& seen);

ordered_json run_adherence(const AdherenceOptions& o);
std::string format_adherence(const ordered_json& report);

}  // namespace prealign
