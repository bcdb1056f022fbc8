#include "score/command_worker.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "core/error.hpp"

extern char** environ;

namespace prealign {

namespace {

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

int ms_left(std::chrono::steady_clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

}  // namespace

WorkerProcess::WorkerProcess(std::vector<std::string> argv) {
  if (argv.empty()) fail("command scorer", "empty command");
  // A write to a worker that died must be an EPIPE we can handle, not a signal that kills us.
  ::signal(SIGPIPE, SIG_IGN);
  int to_child[2], from_child[2];
  if (::pipe2(to_child, O_CLOEXEC) != 0) fail(argv[0], std::string("cannot create a pipe: ") + std::strerror(errno));
  if (::pipe2(from_child, O_CLOEXEC) != 0) {
    ::close(to_child[0]);
    ::close(to_child[1]);
    fail(argv[0], std::string("cannot create a pipe: ") + std::strerror(errno));
  }
  // posix_spawn (not fork+exec): safe from a multi-threaded process, and it
  // reports a missing program as an error here instead of a dead child later.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, to_child[0], 0);
  posix_spawn_file_actions_adddup2(&actions, from_child[1], 1);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);  // its own group: kill() reaches its children too
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  int rc = ::posix_spawnp(&pid_, args[0], &actions, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(to_child[0]);
  ::close(from_child[1]);
  if (rc != 0) {
    ::close(to_child[1]);
    ::close(from_child[0]);
    pid_ = -1;
    fail(argv[0], std::string("cannot start the worker: ") + std::strerror(rc),
         "check the scorer's \"command\" (program path, interpreter installed?)");
  }
  in_fd_ = to_child[1];
  out_fd_ = from_child[0];
  set_nonblocking(in_fd_);
  set_nonblocking(out_fd_);
}

WorkerProcess::~WorkerProcess() {
  if (pid_ > 0 && !reaped_) {
    if (in_fd_ >= 0) ::close(in_fd_);  // EOF on stdin: a well-behaved worker exits now
    in_fd_ = -1;
    for (int i = 0; i < 50; ++i) {  // up to ~0.5 s
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        reaped_ = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!reaped_) kill();
  }
  close_fds();
}

void WorkerProcess::close_fds() {
  if (in_fd_ >= 0) ::close(in_fd_);
  if (out_fd_ >= 0) ::close(out_fd_);
  in_fd_ = out_fd_ = -1;
}

WorkerProcess::Status WorkerProcess::exchange(const std::string& request, std::string& response, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  std::string out = request + "\n";
  size_t written = 0;
  for (;;) {
    size_t nl = buffer_.find('\n');
    if (nl != std::string::npos && written == out.size()) {
      response.assign(buffer_, 0, nl);
      buffer_.erase(0, nl + 1);
      return Status::Ok;
    }
    if (in_fd_ < 0 || out_fd_ < 0) return Status::Exited;
    pollfd p[2] = {{out_fd_, POLLIN, 0}, {in_fd_, POLLOUT, 0}};
    const nfds_t n = written < out.size() ? 2 : 1;
    int left = ms_left(deadline);
    if (left == 0) return Status::Timeout;
    int rc = ::poll(p, n, left);
    if (rc < 0 && errno != EINTR) return Status::Exited;
    if (rc <= 0) continue;  // EINTR or the deadline: the loop re-checks
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[1 << 16];
      ssize_t got = ::read(out_fd_, buf, sizeof buf);
      if (got == 0) return Status::Exited;  // the worker closed its output
      if (got < 0 && errno != EAGAIN && errno != EINTR) return Status::Exited;
      if (got > 0) buffer_.append(buf, static_cast<size_t>(got));
    }
    if (n == 2 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t put = ::write(in_fd_, out.data() + written, out.size() - written);
      if (put < 0 && errno != EAGAIN && errno != EINTR) return Status::Exited;  // EPIPE: it died
      if (put > 0) written += static_cast<size_t>(put);
    }
  }
}

void WorkerProcess::kill() {
  if (pid_ <= 0) return;
  if (reaped_) {  // its group id may already be reused: signal nothing, just let go of the pipes
    close_fds();
    return;
  }
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  close_fds();
}

std::string WorkerProcess::exit_description() {
  if (pid_ <= 0) return "not started";
  if (!reaped_) {
    // It closed its output, so it is exiting: wait for it, briefly.
    for (int i = 0; i < 100 && !reaped_; ++i) {
      if (::waitpid(pid_, &status_, WNOHANG) == pid_) reaped_ = true;
      else std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!reaped_) return "closed its output but is still running";
  }
  if (WIFEXITED(status_)) return "exited with status " + std::to_string(WEXITSTATUS(status_));
  if (WIFSIGNALED(status_)) return std::string("was killed by signal ") + std::to_string(WTERMSIG(status_)) + " (" +
                                   strsignal(WTERMSIG(status_)) + ")";
  return "stopped";
}

}  // namespace prealign
