// Scoring a completion of a task: the one function `prealign tasks verify`, the
// tests and (later) the RL trainer's reward all call.
//
//   Verifier v(options);                              // once; cheap to copy
//   Verdict d = v.verify(task, completion);           // any thread, concurrently
//   reward = d.reward;                                // in [0, 1]
//
// Contract:
//   - verify() is a pure function of (task, completion, options): no shared
//     mutable state, so it is thread-safe; arithmetic, string, corpus and
//     system-rule tasks cost microseconds (no I/O; the PEP8 truth was computed
//     by the scorer when the task was made); python tasks start one sandboxed
//     python3 (~0.1 s on a loaded 2-core machine, at most options.sandbox.wall_seconds).
//   - reward is 1 for a correct completion and 0 otherwise; a wrong answer never
//     earns anything. With format_weight w > 0 a correct completion without the
//     requested format (no "Answer:" line; no fenced code block for python) gets 1 - w.
//   - it throws prealign::Error only for what is not the model's fault: a task
//     whose verifier spec is malformed (naming the task id), or a sandbox that
//     cannot start (no python3, no network isolation where required). Anything
//     the completion does (garbage, a crash, a timeout, huge output) is a verdict.
//
// Which family is checked how: docs/tasks.md "Verifiers"; answer extraction: answer.hpp.
#pragma once
#include <string>
#include <string_view>

#include "core/json_io.hpp"
#include "tasks/python_sandbox.hpp"
#include "tasks/task.hpp"

namespace prealign {

struct Verdict {
  double reward = 0;       // in [0, 1]
  bool correct = false;    // the task answered right and the rule (if any) kept
  bool task_ok = false;    // the task part alone
  bool rule_ok = true;     // the system rule (true for families without one)
  bool format_ok = false;  // the requested answer format was used
  std::string reason;      // one line, for people

  json to_json() const;
};

struct VerifierOptions {
  double format_weight = 0;  // see the contract above; within [0, 1]
  SandboxLimits sandbox;
};

class Verifier {
 public:
  explicit Verifier(VerifierOptions options = {});
  Verdict verify(const TaskRecord& task, std::string_view completion) const;
  const VerifierOptions& options() const { return options_; }

 private:
  VerifierOptions options_;
};

}  // namespace prealign
