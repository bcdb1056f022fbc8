#include "dist/background_failure.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>

namespace prealign {
namespace {

// Copied once at installation, so the handler reads nothing another thread may be changing.
struct RankIdentity {
  int rank = -1;
  char host[256] = {};
  int port = 0;
};
RankIdentity g_identity;

[[noreturn]] void on_terminate() {
  std::string what = "an unknown exception";
  if (std::exception_ptr e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      what = x.what();
    } catch (...) {
    }
  } else {
    what = "std::terminate without an exception";
  }
  const bool store_gone = !tcp_port_answers(g_identity.host, g_identity.port, 2000);
  if (store_gone)
    std::fprintf(stderr,
                 "prealign: error: rank %d: lost rank 0 (its rendezvous store at %s:%d is gone): %s\n"
                 "  hint: every rank stops when one is lost; fix the cause (see rank 0's own error) and restart "
                 "with --resume\n",
                 g_identity.rank, g_identity.host, g_identity.port, what.c_str());
  else
    std::fprintf(stderr,
                 "prealign: error: rank %d: a background thread failed (a peer may be lost): %s\n"
                 "  hint: every rank stops when one is lost; see the other ranks' errors and restart with --resume\n",
                 g_identity.rank, what.c_str());
  std::fflush(stderr);
  ::_exit(1);  // other threads may hold locks or sit in collectives: no unwinding, no atexit
}

}  // namespace

bool tcp_port_answers(const std::string& host, int port, int timeout_ms) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return false;
  bool answered = false;
  for (addrinfo* a = found; a && !answered; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      answered = true;
    } else if (errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      int err = 0;
      socklen_t len = sizeof err;
      answered = ::poll(&p, 1, timeout_ms) == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
    }
    ::close(fd);
  }
  ::freeaddrinfo(found);
  return answered;
}

void report_background_failures(int rank, const std::string& store_host, int store_port) {
  g_identity.rank = rank;
  std::snprintf(g_identity.host, sizeof g_identity.host, "%s", store_host.c_str());
  g_identity.port = store_port;
  std::set_terminate(on_terminate);
}

}  // namespace prealign
