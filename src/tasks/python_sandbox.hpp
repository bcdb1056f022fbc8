// Runs untrusted Python (a model's completion) in a subprocess with limits
// (docs/tasks.md "The Python sandbox"):
//
//   - `python3 -I` (isolated: no user site, no PYTHON* environment, script
//     directory not on sys.path), in a fresh private temporary directory that
//     is removed afterwards; a minimal environment (PATH, HOME=the directory,
//     LANG), stdin /dev/null, every other inherited descriptor closed;
//   - no network: the child enters a new network namespace (unshare(CLONE_NEWNET),
//     as root; otherwise inside a new user namespace) with only a down loopback.
//     Where neither works, a run fails with an Error unless
//     limits.require_network_isolation is false;
//   - wall time: the child leads its own process group, killed as a whole
//     (SIGKILL) at the deadline; RLIMIT_CPU as a backstop;
//   - memory: RLIMIT_AS in the child (Python raises MemoryError);
//   - files: RLIMIT_FSIZE, RLIMIT_NOFILE; no core dumps;
//   - output: stdout and stderr are read up to max_output_bytes together; more
//     kills the run (the parent's memory stays bounded).
//
// Thread-safe: each call has its own directory, pipes and process; the child
// does only async-signal-safe system calls between fork and exec, so a
// multithreaded trainer can call it from any thread.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace prealign {

struct SandboxLimits {
  double wall_seconds = 5.0;
  uint64_t memory_bytes = uint64_t(512) << 20;  // address space (RLIMIT_AS)
  uint64_t max_output_bytes = uint64_t(1) << 20;
  uint64_t max_file_bytes = uint64_t(16) << 20;
  bool require_network_isolation = true;
  std::string python = "/usr/bin/python3";
};

struct SandboxResult {
  int exit_code = -1;  // when exited normally; -1 otherwise
  int signal = 0;      // the signal that ended it, if any
  bool timed_out = false;
  bool output_overflow = false;
  bool network_isolated = false;
  double seconds = 0;
  std::string out, err;  // at most max_output_bytes together
};

// Runs `python3 -I <script>` in a fresh directory holding `files` (name, content);
// `script` must be one of the names.
SandboxResult run_python_sandboxed(const std::vector<std::pair<std::string, std::string>>& files,
                                   const std::string& script, const SandboxLimits& limits);

// Whether this process can put a child in a new network namespace (probed once).
bool network_isolation_available();

}  // namespace prealign
