#include "tasks/python_sandbox.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "core/error.hpp"
#include "core/files.hpp"

namespace prealign {
namespace {

// Why the child failed before exec, sent to the parent as one byte on a
// close-on-exec pipe (no byte: exec succeeded). Exit codes would be ambiguous:
// the sandboxed code chooses its own.
constexpr char kNoNetworkNamespace = 'n';
constexpr char kSetupFailed = 's';
constexpr uint32_t kNobody = 65534;

// In the child, after fork: only async-signal-safe calls from here on.
// Enters a new network namespace and, when `drop_root`, becomes nobody (raw
// system calls: no glibc setxid broadcast). Root tries the namespace first,
// while it has the capability; otherwise nobody tries it through a new user
// namespace, so the process never holds root's file access inside one.
// Returns 1 when isolated, 0 when not, -1 when dropping root failed.
int isolate(bool drop_root) {
  bool isolated = ::unshare(CLONE_NEWNET) == 0;
  if (drop_root && (::syscall(SYS_setgroups, 0, nullptr) != 0 || ::syscall(SYS_setgid, kNobody) != 0 ||
                    ::syscall(SYS_setuid, kNobody) != 0))
    return -1;
  if (!isolated) isolated = ::unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0;
  return isolated ? 1 : 0;
}

void set_limit(int resource, uint64_t value) {
  rlimit r{static_cast<rlim_t>(value), static_cast<rlim_t>(value)};
  ::setrlimit(resource, &r);
}

struct ChildSetup {
  const char* dir;
  char* const* argv;
  char* const* envp;
  int out_fd, err_fd, status_fd;
  bool drop_root;
  const SandboxLimits* limits;
};

[[noreturn]] void child_fail(int status_fd, char why) {
  (void)!::write(status_fd, &why, 1);
  ::_exit(127);
}

[[noreturn]] void child_main(const ChildSetup& c) {
  ::setpgid(0, 0);  // its own process group: the deadline kills the group
  const int isolated = isolate(c.drop_root);
  if (isolated < 0) child_fail(c.status_fd, kSetupFailed);
  if (isolated == 0 && c.limits->require_network_isolation) child_fail(c.status_fd, kNoNetworkNamespace);
  const int devnull = ::open("/dev/null", O_RDONLY);
  if (devnull < 0 || ::dup2(devnull, 0) < 0 || ::dup2(c.out_fd, 1) < 0 || ::dup2(c.err_fd, 2) < 0 ||
      ::dup2(c.status_fd, 3) < 0 || ::fcntl(3, F_SETFD, FD_CLOEXEC) < 0)
    child_fail(c.status_fd, kSetupFailed);
#ifdef SYS_close_range
  ::syscall(SYS_close_range, 4u, ~0u, 0u);
#else
  for (int fd = 4; fd < 4096; ++fd) ::close(fd);
#endif
  if (::chdir(c.dir) != 0) child_fail(3, kSetupFailed);
  // a fork bomb stops here (not enforced for root); it counts every process of nobody,
  // sandboxes running side by side included (tasks verify --jobs <= 64)
  if (c.drop_root) set_limit(RLIMIT_NPROC, 128);
  set_limit(RLIMIT_AS, c.limits->memory_bytes);
  set_limit(RLIMIT_CPU, static_cast<uint64_t>(c.limits->wall_seconds) + 2);
  set_limit(RLIMIT_FSIZE, c.limits->max_file_bytes);
  set_limit(RLIMIT_NOFILE, 64);
  set_limit(RLIMIT_CORE, 0);
  ::execve(c.argv[0], c.argv, c.envp);
  child_fail(3, kSetupFailed);
}

void write_plain_file(const std::string& path, const std::string& content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) fail(path, std::string("cannot create: ") + std::strerror(errno));
  size_t off = 0;
  while (off < content.size()) {
    const ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      fail(path, std::string("write failed: ") + std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  ::close(fd);
}

std::string make_temp_dir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/prealign-sandbox-XXXXXX";
  if (!::mkdtemp(pattern.data())) fail("python sandbox", std::string("cannot create a temporary directory: ") + std::strerror(errno),
                                       "check TMPDIR (or /tmp) exists and is writable");
  return pattern;  // mkdtemp makes it 0700
}

// Reads both pipes until EOF, the deadline or the output bound; kills the group when needed.
void collect(int pid, int out_fd, int err_fd, const SandboxLimits& limits, SandboxResult& r) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  const auto deadline = start + std::chrono::milliseconds(static_cast<int64_t>(limits.wall_seconds * 1000));
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  int open_fds = 2, status = 0;
  bool exited = false;
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()).count();
    if (left <= 0) {
      r.timed_out = true;
      break;
    }
    // once the child itself is gone, a grandchild holding the pipes gets only a short grace
    const int rc = ::poll(fds, 2, static_cast<int>(std::min<int64_t>(left, exited ? 50 : 100)));
    if (rc < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[16384];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      std::string& sink = i == 0 ? r.out : r.err;
      const uint64_t room = limits.max_output_bytes - std::min<uint64_t>(limits.max_output_bytes, r.out.size() + r.err.size());
      sink.append(buf, static_cast<size_t>(std::min<uint64_t>(room, static_cast<uint64_t>(n))));
      if (static_cast<uint64_t>(n) > room) r.output_overflow = true;
    }
    if (r.output_overflow) break;
    // WNOWAIT: the child stays a zombie, so its pid (the group's id) cannot be
    // reused by another process before we have killed the group
    siginfo_t info{};
    if (!exited && ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid) {
      exited = true;
      ::kill(-pid, SIGKILL);  // anything it left behind in its group
    } else if (exited && rc == 0) {
      break;  // the pipes are held open by something outside the group
    }
  }
  ::kill(-pid, SIGKILL);
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  r.seconds = std::chrono::duration<double>(clock::now() - start).count();
}

}  // namespace

bool network_isolation_available() {
  static std::once_flag once;
  static bool available = false;
  std::call_once(once, [] {
    const int pid = ::fork();
    if (pid == 0) ::_exit(isolate(::geteuid() == 0) == 1 ? 0 : 1);
    int status = 0;
    if (pid > 0)
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
    available = pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  });
  return available;
}

SandboxResult run_python_sandboxed(const std::vector<std::pair<std::string, std::string>>& files,
                                   const std::string& script, const SandboxLimits& limits) {
  const std::string dir = make_temp_dir();
  struct RemoveDir {
    std::string path;
    ~RemoveDir() { remove_all(path); }
  } remove_dir{dir};
  const bool drop_root = ::geteuid() == 0;
  for (const auto& [name, content] : files) {
    if (name.empty() || name.find('/') != std::string::npos) fail("python sandbox", "bad file name \"" + name + "\"");
    write_plain_file(dir + "/" + name, content);
    if (drop_root && ::chown((dir + "/" + name).c_str(), kNobody, kNobody) != 0)
      fail(dir, std::string("cannot hand the file to nobody: ") + std::strerror(errno));
  }
  if (drop_root && ::chown(dir.c_str(), kNobody, kNobody) != 0)
    fail(dir, std::string("cannot hand the directory to nobody: ") + std::strerror(errno));
  if (::access(limits.python.c_str(), X_OK) != 0)
    fail(limits.python, "no Python interpreter to run the sandbox with", "install python3 or pass its path");

  // Everything the child needs is built before fork (no allocation after it).
  std::vector<std::string> args = {limits.python, "-I", "-B", script};
  std::vector<std::string> env = {"PATH=/usr/bin:/bin", "HOME=" + dir, "TMPDIR=" + dir, "LANG=C.UTF-8",
                                  "PYTHONHASHSEED=0"};
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  for (auto& e : env) envp.push_back(e.data());
  argv.push_back(nullptr);
  envp.push_back(nullptr);

  int out_pipe[2], err_pipe[2], status_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) fail("python sandbox", std::string("pipe: ") + std::strerror(errno));
  if (::pipe2(err_pipe, O_CLOEXEC) != 0 || ::pipe2(status_pipe, O_CLOEXEC) != 0) {
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) ::close(fd);
    fail("python sandbox", std::string("pipe: ") + std::strerror(errno));
  }
  const ChildSetup setup{dir.c_str(), argv.data(), envp.data(), out_pipe[1], err_pipe[1], status_pipe[1], drop_root, &limits};
  const int pid = ::fork();
  if (pid == 0) child_main(setup);
  for (int fd : {out_pipe[1], err_pipe[1], status_pipe[1]}) ::close(fd);
  if (pid < 0) {
    for (int fd : {out_pipe[0], err_pipe[0], status_pipe[0]}) ::close(fd);
    fail("python sandbox", std::string("fork failed: ") + std::strerror(errno));
  }
  ::setpgid(pid, pid);  // also from here, so the group exists before we might kill it
  char why = 0;
  ssize_t got;
  while ((got = ::read(status_pipe[0], &why, 1)) < 0 && errno == EINTR) {
  }
  ::close(status_pipe[0]);
  SandboxResult r;
  if (got == 1) {  // it never reached python
    for (int fd : {out_pipe[0], err_pipe[0]}) ::close(fd);
    ::kill(-pid, SIGKILL);
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (why == kNoNetworkNamespace)
      fail("python sandbox", "cannot isolate the child from the network (no permission for a new network namespace)",
           "run as root or where unprivileged user namespaces are enabled, or allow network access "
           "explicitly (--allow-network) on a machine without network");
    fail("python sandbox", "cannot set up the sandbox for " + limits.python, "is the temporary directory usable?");
  }
  collect(pid, out_pipe[0], err_pipe[0], limits, r);
  ::close(out_pipe[0]);
  ::close(err_pipe[0]);
  r.network_isolated = network_isolation_available();
  return r;
}

}  // namespace prealign
