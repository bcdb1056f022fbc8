// The python family's verifier: the completion's code (answer.hpp extract_code)
// runs in the sandbox against the hidden test inputs; the harness prints each
// call's result as JSON and the parent compares them with the expected values,
// which never enter the sandbox (so code that prints fake results would have to
// compute the right ones). Templates and their generator: python_function.cpp.
#pragma once
#include <string>

#include "core/json_io.hpp"
#include "tasks/python_sandbox.hpp"

namespace prealign {

struct PythonCheck {
  bool passed = false;
  int cases_passed = 0, cases = 0;
  std::string reason;
};

// `spec`: {"type": "python", "function": name, "cases": [[args...], ...], "expected": [...]}.
// Errors (Error naming `where`) only for a malformed spec or a sandbox that cannot start.
PythonCheck check_python_function(const json& spec, const std::string& code, const SandboxLimits& limits,
                                  const std::string& where);

// The harness the sandbox runs (exposed for tests and docs).
const char* python_harness_source();

}  // namespace prealign
