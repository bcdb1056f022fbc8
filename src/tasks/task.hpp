// A verifiable task: one record of a tasks JSONL file (docs/formats.md "Task
// records"), and reading and writing such files with errors that name file and line.
//
//   {"id": "arithmetic-s7-000012", "family": "arithmetic", "variant": "mul",
//    "split": "train", "seed": 123456789, "system": "...",        (system only for system-rule families)
//    "prompt": "What is 4821 * 39? ...", "verifier": {"type": "number", "answer": 188019},
//    "source": {"file": "...", "line": 120}}                        (only for corpus tasks)
//
// The verifier spec holds everything the verifier needs (the answer, hidden
// tests, the rule); it is never shown to the model. verifier.hpp checks completions.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/json_io.hpp"

namespace prealign {

struct TaskRecord {
  std::string id;
  std::string family;   // arithmetic, strings, python, pep8-lines, masked-span, system-<rule>
  std::string variant;  // within a family: add/sub/mul, reverse/sort/count, a python template, ...
  std::string split = "train";  // "train" or "test" (docs/tasks.md "Splits")
  uint64_t seed = 0;            // the per-record generator seed (< 2^53)
  std::string system;           // system prompt; empty for families without one
  std::string prompt;           // the user message
  json verifier = json::object();  // {"type": ..., ...}: what verify() checks
  json source;                     // corpus tasks: {"file", "line"}; null otherwise

  json to_json() const;
  // Checks fields and types; errors name `where` (file:line).
  static TaskRecord from_json(const json& j, const std::string& where);
};

// All records of a tasks JSONL file, in order. Empty lines are skipped; a
// malformed record, or a second record with an id already seen, is an Error
// naming file:line.
std::vector<TaskRecord> read_tasks(const std::string& path);
// Writes atomically (temporary file, fsync, rename).
void write_tasks(const std::string& path, const std::vector<TaskRecord>& tasks);

// One completion to score: {"id": task id, "completion": text}.
struct Completion {
  std::string id;
  std::string completion;
  std::string where;  // file:line it came from
};
std::vector<Completion> read_completions(const std::string& path);

}  // namespace prealign
