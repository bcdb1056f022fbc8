// A child process spoken to through pipes, one line at a time (the protocol of
// prealign's external scorers: JSON lines on stdin/stdout).
#pragma once
#include <string>
#include <vector>

namespace prealign {

class Subprocess {
 public:
  // Starts argv[0] (searched in PATH) with `argv`; stderr is inherited.
  explicit Subprocess(std::vector<std::string> argv);
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  void write_line(const std::string& line);  // appends "\n"; Error if the child is gone
  // Reads one line (without "\n"). Returns false on EOF or when `timeout_ms`
  // (< 0: wait forever) passes without a complete line; `timed_out` tells which.
  bool read_line(std::string& line, int timeout_ms = -1, bool* timed_out = nullptr);
  void close_stdin();
  int wait();        // exit status (128 + signal when killed)
  void kill();       // SIGKILL and reap
  bool running() const { return pid_ > 0; }
  const std::string& program() const { return argv_.front(); }

 private:
  std::vector<std::string> argv_;
  int pid_ = -1, in_fd_ = -1, out_fd_ = -1;
  std::string buffer_;
};

}  // namespace prealign
