// A prealign run several test processes read (ctest runs each test in its own
// process, in parallel): made once under a lock in $PREALIGN_TEST_TMP/shared/,
// remade when the binary is newer than it. Its stdout is kept beside it.
#pragma once
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "cli_run.hpp"
#include "core/files.hpp"

namespace prealign::testing {

struct SharedRun {
  std::string dir;     // the run's --out
  std::string output;  // what it printed (stdout and stderr)
  int status = -1;
};

// `args` must contain "{out}" where the run's output directory goes.
inline SharedRun shared_run(const std::string& name, std::string args) {
  namespace fs = std::filesystem;
  const char* base = std::getenv("PREALIGN_TEST_TMP");
  const fs::path root = fs::path(base ? base : "/tmp/prealign-tests") / "shared";
  fs::create_directories(root);
  SharedRun r;
  r.dir = (root / name).string();
  const std::string done = r.dir + ".done", log = r.dir + ".output";
  const int lock = ::open((r.dir + ".lock").c_str(), O_CREAT | O_RDWR, 0644);
  if (lock >= 0) ::flock(lock, LOCK_EX);
  const bool fresh = fs::exists(done) && fs::last_write_time(done) >= fs::last_write_time(PREALIGN_BINARY) &&
                     read_file(done) == args;
  if (!fresh) {
    fs::remove_all(r.dir);
    fs::remove(done);
    const size_t at = args.find("{out}");
    std::string command = args;
    if (at != std::string::npos) command.replace(at, 5, "'" + r.dir + "'");
    const CliResult c = run_prealign(command);
    write_file_atomic(log, c.output);
    if (c.status == 0) write_file_atomic(done, args);
  }
  r.output = read_file(log);
  r.status = fs::exists(done) ? 0 : 1;
  if (lock >= 0) ::close(lock);  // releases the lock
  return r;
}

}  // namespace prealign::testing
