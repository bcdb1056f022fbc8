// The `command` scorer: any external program as a scorer, through a persistent
// worker speaking JSON lines on stdin/stdout (protocol: docs/scoring.md
// "Command scorer"). The `pep8` scorer is a preset of it.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "score/scorer.hpp"

namespace prealign {

struct CommandScorerOptions {
  std::string name;
  std::vector<std::string> categories;  // default: {name}
  std::vector<std::string> argv;        // the worker's command line
  size_t batch = 64;                    // documents per request
  size_t max_request_bytes = size_t(4) << 20;  // a request stops growing past this much text
  int timeout_ms = 30000;               // per request
  int restarts = 3;                     // consecutive failures tolerated; one more is fatal
  bool whole_lines = false;             // every segment must be one whole line (pep8)
};

// Reads the fields of a {"type": "command", ...} config (see docs/scoring.md).
CommandScorerOptions command_options_from_json(const json& config, const std::string& where);
std::unique_ptr<Scorer> make_command_scorer(const CommandScorerOptions& options, const std::string& where);

// The `pep8` preset: the command scorer running the embedded pycodestyle worker
// (pep8_worker_source()); config {"type": "pep8", "name": "pep8", "python": ...}.
CommandScorerOptions pep8_options_from_json(const json& config, const std::string& where);

}  // namespace prealign
