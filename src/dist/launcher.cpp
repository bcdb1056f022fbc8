#include "dist/launcher.hpp"

#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "core/error.hpp"

namespace prealign {
namespace {

volatile sig_atomic_t g_signal = 0;  // the last SIGINT/SIGTERM/SIGHUP the launcher received
void remember_signal(int sig) { g_signal = sig; }

// A port the kernel says is free now (torchrun does the same; another process may
// take it before rank 0 binds it, then the rendezvous error says so).
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) fail("prealign launch", "cannot open a socket to find a free port", "pass --master 127.0.0.1:PORT");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  if (port == 0) fail("prealign launch", "no free port found", "pass --master 127.0.0.1:PORT");
  return port;
}

std::pair<std::string, int> parse_master(const LaunchOptions& o) {
  if (o.master.empty()) {
    if (o.nnodes > 1)
      fail("--master", "required with --nnodes > 1", "give every node's launcher the same ADDR:PORT of node 0");
    return {"127.0.0.1", free_port()};
  }
  const size_t colon = o.master.rfind(':');
  const std::string port = colon == std::string::npos ? "" : o.master.substr(colon + 1);
  if (colon == 0 || port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) < 1 || std::stoi(port) > 65535)
    fail("--master " + o.master, "not ADDR:PORT", "e.g. --master 10.0.0.1:29500");
  return {o.master.substr(0, colon), std::stoi(port)};
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
  return "ended (status " + std::to_string(status) + ")";
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

struct Rank {
  int rank = 0;
  pid_t pid = -1;
  bool running = false;
};

pid_t start_rank(const std::string& exe, const std::vector<std::string>& args,
                 const std::vector<std::pair<std::string, std::string>>& env) {
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) fail("prealign launch", std::string("fork failed: ") + std::strerror(errno));
  if (pid > 0) return pid;
  // The child: its own process group (the terminal's Ctrl-C reaches the launcher,
  // which forwards it once), and it dies with the launcher.
  ::setpgid(0, 0);
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) ::_exit(1);
  for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
  std::vector<char*> argv{const_cast<char*>(exe.c_str())};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv(exe.c_str(), argv.data());
  std::fprintf(stderr, "prealign launch: cannot execute %s: %s\n", exe.c_str(), std::strerror(errno));
  ::_exit(127);
}

void signal_all(std::vector<Rank>& ranks, int sig) {
  for (const Rank& r : ranks)
    if (r.running) ::kill(r.pid, sig);
}

// Reaps any ended rank; returns false when none ended.
bool reap(std::vector<Rank>& ranks, Rank*& ended, int& status) {
  const pid_t pid = ::waitpid(-1, &status, WNOHANG);
  if (pid <= 0) return false;
  for (Rank& r : ranks)
    if (r.pid == pid) {
      r.running = false;
      ended = &r;
      return true;
    }
  return false;
}

bool any_running(const std::vector<Rank>& ranks) {
  for (const Rank& r : ranks)
    if (r.running) return true;
  return false;
}

// SIGTERM to the ranks still running, SIGKILL to those still there after the grace period.
void stop_all(std::vector<Rank>& ranks, int grace_seconds) {
  signal_all(ranks, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(grace_seconds);
  Rank* ended = nullptr;
  int status = 0;
  while (any_running(ranks)) {
    if (reap(ranks, ended, status)) continue;
    if (std::chrono::steady_clock::now() > deadline) {
      for (const Rank& r : ranks)
        if (r.running) std::fprintf(stderr, "prealign launch: rank %d (pid %d) ignored SIGTERM; killing it\n", r.rank, r.pid);
      signal_all(ranks, SIGKILL);
      while (any_running(ranks)) reap(ranks, ended, status) || (std::this_thread::sleep_for(std::chrono::milliseconds(20)), true);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void validate(const LaunchOptions& o) {
  require(o.nproc >= 1 && o.nproc <= 4096, "--nproc", "must be between 1 and 4096");
  require(o.nnodes >= 1, "--nnodes", "must be at least 1");
  require(o.node_rank >= 0 && o.node_rank < o.nnodes, "--node-rank", "must be in 0 .. nnodes-1");
  require(o.grace_seconds >= 0, "--grace-seconds", "must not be negative");
  require(!o.command.empty(), "prealign launch", "no command to run",
          "put the rank's command after --, e.g. prealign launch --nproc 2 -- train --data d --out runs/r");
  require(o.command.front() != "launch", "prealign launch", "a launch inside a launch", "launch the command itself");
}

}  // namespace

std::vector<std::pair<std::string, std::string>> rank_environment(const LaunchOptions& o, int local_rank,
                                                                  const std::string& addr, int port, int threads) {
  return {{"RANK", std::to_string(o.node_rank * o.nproc + local_rank)},
          {"LOCAL_RANK", std::to_string(local_rank)},
          {"WORLD_SIZE", std::to_string(o.nnodes * o.nproc)},
          {"LOCAL_WORLD_SIZE", std::to_string(o.nproc)},
          {"GROUP_RANK", std::to_string(o.node_rank)},
          {"MASTER_ADDR", addr},
          {"MASTER_PORT", std::to_string(port)},
          {"OMP_NUM_THREADS", std::to_string(threads)}};
}

int launch(const LaunchOptions& o, const std::string& executable) {
  validate(o);
  const auto [addr, port] = parse_master(o);
  // Cores are shared by the node's ranks (torchrun sets OMP_NUM_THREADS too); a user's value wins.
  int threads = std::max<long>(1, ::sysconf(_SC_NPROCESSORS_ONLN) / o.nproc);
  if (const char* t = std::getenv("OMP_NUM_THREADS"); t && std::atoi(t) > 0) threads = std::atoi(t);

  struct sigaction sa{}, previous[3];
  sa.sa_handler = remember_signal;
  sigemptyset(&sa.sa_mask);
  const int forwarded_signals[3] = {SIGINT, SIGTERM, SIGHUP};
  for (int i = 0; i < 3; ++i) ::sigaction(forwarded_signals[i], &sa, &previous[i]);
  g_signal = 0;
  struct RestoreHandlers {  // the launcher may be a function of a longer-lived process (tests)
    const int* sigs;
    struct sigaction* old;
    ~RestoreHandlers() {
      for (int i = 0; i < 3; ++i) ::sigaction(sigs[i], &old[i], nullptr);
    }
  } restore{forwarded_signals, previous};

  std::vector<Rank> ranks(o.nproc);
  for (int i = 0; i < o.nproc; ++i) {
    ranks[i].rank = o.node_rank * o.nproc + i;
    ranks[i].pid = start_rank(executable, o.command, rank_environment(o, i, addr, port, threads));
    ranks[i].running = true;
    std::fprintf(stderr, "prealign launch: rank %d of %d (local %d) pid %d, master %s:%d, %d thread%s\n",
                 ranks[i].rank, o.nnodes * o.nproc, i, ranks[i].pid, addr.c_str(), port, threads,
                 threads == 1 ? "" : "s");
  }

  int forwarded = 0, result = 0;
  while (any_running(ranks)) {
    if (g_signal != 0 && forwarded != g_signal) {
      forwarded = g_signal;
      std::fprintf(stderr, "prealign launch: got %s; passing it to every rank\n", strsignal(forwarded));
      signal_all(ranks, forwarded == SIGHUP ? SIGTERM : forwarded);
      result = 128 + forwarded;
    }
    Rank* ended = nullptr;
    int status = 0;
    if (!reap(ranks, ended, status)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    if (exit_code_of(status) == 0 || forwarded) continue;
    // Peers of a dead rank fail within moments of it; report every rank found ended
    // now (a killed rank's signal usually tells which one went first).
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    do {
      if (exit_code_of(status) != 0)
        std::fprintf(stderr, "prealign launch: error: rank %d (pid %d) %s\n", ended->rank, ended->pid,
                     describe_status(status).c_str());
      if (result == 0) result = exit_code_of(status);
    } while (reap(ranks, ended, status));
    if (any_running(ranks)) std::fprintf(stderr, "prealign launch: stopping the other ranks\n");
    stop_all(ranks, o.grace_seconds);
    return result;
  }
  return result;
}

}  // namespace prealign
