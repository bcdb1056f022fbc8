// A persistent external worker for the `command` scorer: one request line out,
// one response line back, both within a deadline. Unlike core's Subprocess it
// writes without blocking while it reads (a worker that answers early, or not at
// all, cannot deadlock us on a full pipe), and it runs the worker in its own
// process group so a hung shell script is killed together with its children.
#pragma once
#include <string>
#include <vector>

namespace prealign {

class WorkerProcess {
 public:
  // Starts `argv` (argv[0] searched in PATH); Error if it cannot be started.
  explicit WorkerProcess(std::vector<std::string> argv);
  ~WorkerProcess();  // closes stdin, gives the worker a moment to exit, then kills its group
  WorkerProcess(const WorkerProcess&) = delete;
  WorkerProcess& operator=(const WorkerProcess&) = delete;

  enum class Status { Ok, Timeout, Exited };
  // Sends `request` + "\n" and reads one line (without "\n") into `response`,
  // all within `timeout_ms`. On Timeout or Exited the worker must be killed.
  Status exchange(const std::string& request, std::string& response, int timeout_ms);
  void kill();               // SIGKILL to the worker's process group, and reap
  std::string exit_description();  // "exited with status 3" / "killed by signal 9" (reaps if needed)
  int pid() const { return pid_; }

 private:
  void close_fds();
  int pid_ = -1, in_fd_ = -1, out_fd_ = -1;
  int status_ = 0;
  bool reaped_ = false;
  std::string buffer_;  // bytes read past the last response line
};

}  // namespace prealign
