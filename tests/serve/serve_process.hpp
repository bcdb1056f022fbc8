// `prealign serve` as a child process of a test: started on the port its
// "listening on ...:PORT" banner names (pass --port 0), with its own environment
// and stderr file, signalled and waited for. The destructor asks it to stop
// (SIGTERM) and kills it if it has not exited after a few seconds.
#pragma once
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace prealign::testing {

class ServeProcess {
 public:
  struct Options {
    std::map<std::string, std::string> env;  // set in the child only (e.g. PREALIGN_API_KEY)
    std::string stderr_file;                 // "" keeps the test's stderr
  };

  explicit ServeProcess(const std::vector<std::string>& args, const Options& options = {}) {
    int out[2];
    if (::pipe(out) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::close(out[0]);
      if (!options.stderr_file.empty()) {
        const int err = ::open(options.stderr_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (err >= 0) ::dup2(err, 2);
      }
      for (const auto& [name, value] : options.env) ::setenv(name.c_str(), value.c_str(), 1);
      std::vector<char*> argv{const_cast<char*>(PREALIGN_BINARY)};
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(PREALIGN_BINARY, argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    std::string banner;
    char c;
    while (banner.find('\n') == std::string::npos && ::read(out[0], &c, 1) == 1) banner += c;
    ::close(out[0]);
    const size_t colon = banner.rfind(':');
    if (banner.find("listening") != std::string::npos && colon != std::string::npos)
      port_ = std::atoi(banner.c_str() + colon + 1);
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;
  ~ServeProcess() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    if (wait_exit(10) == -1) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  int port() const { return port_; }  // 0 if it never said it was listening
  void signal(int sig) const {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  // The exit status (128 + signal if killed) once it exits within `timeout`
  // seconds; -1 if it does not.
  int wait_exit(double timeout) {
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    int status = 0;
    while (std::chrono::duration<double>(Clock::now() - t0).count() < timeout) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace prealign::testing
