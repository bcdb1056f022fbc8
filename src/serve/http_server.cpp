#include "serve/http_server.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>

namespace prealign {

namespace {

using Clock = std::chrono::steady_clock;

thread_local bool t_close_after_response = false;
thread_local Clock::time_point t_accepted;  // when the connection being served was accepted
thread_local int t_socket = -1;             // the connection this worker serves

int millis_until(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long long>(left, 0, 1 << 30));
}

// poll() for one event until `deadline`; retried on EINTR with the time left.
bool wait_for(int sock, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{sock, events, 0};
    const int r = ::poll(&p, 1, millis_until(deadline));
    if (r > 0) return true;
    if (r == 0 || errno != EINTR) return false;
  }
}

void address_of(int sock, bool peer, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  const int r = peer ? ::getpeername(sock, reinterpret_cast<sockaddr*>(&addr), &len)
                     : ::getsockname(sock, reinterpret_cast<sockaddr*>(&addr), &len);
  if (r != 0) return;
  char host[NI_MAXHOST], serv[NI_MAXSERV];
  if (::getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
    ip = host;
    port = std::atoi(serv);
  }
}

// The socket as httplib's Stream, for one request: reads fail once the
// request's deadline or byte budget is spent. Buffered, since httplib reads
// the request line and headers a byte at a time.
class RequestStream : public httplib::Stream {
 public:
  RequestStream(int sock, Clock::time_point deadline, const std::atomic<Clock::rep>& reads_end, size_t budget,
                double write_seconds)
      : sock_(sock), deadline_(deadline), reads_end_(reads_end), budget_(budget), write_seconds_(write_seconds) {}

  bool exhausted() const { return exhausted_; }

  bool is_readable() const override { return off_ < len_ || wait_readable(); }
  bool is_writable() const override {
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(write_seconds_));
    if (!wait_for(sock_, POLLOUT, deadline)) return false;
    pollfd p{sock_, POLLIN, 0};  // alive unless readable with nothing to read (closed by the peer)
    if (::poll(&p, 1, 0) <= 0) return true;
    char c;
    return ::recv(sock_, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
  }

  ssize_t read(char* ptr, size_t size) override {
    if (off_ == len_) {
      if (budget_ == 0 || !wait_readable()) {
        exhausted_ = true;
        return -1;
      }
      ssize_t n;
      do n = ::recv(sock_, buf_, std::min(sizeof buf_, budget_), 0);
      while (n < 0 && errno == EINTR);
      if (n <= 0) return n;
      budget_ -= static_cast<size_t>(n);
      off_ = 0;
      len_ = static_cast<size_t>(n);
    }
    const size_t k = std::min(size, len_ - off_);
    std::memcpy(ptr, buf_ + off_, k);
    off_ += k;
    return static_cast<ssize_t>(k);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    ssize_t n;
    do n = ::send(sock_, ptr, size, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override { address_of(sock_, true, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { address_of(sock_, false, ip, port); }
  socket_t socket() const override { return sock_; }

 private:
  // Input within the request's deadline, or the server's cut-off if earlier
  // (which shutdown may set while this waits: hence the short slices).
  bool wait_readable() const {
    for (;;) {
      const auto end = std::min(deadline_, Clock::time_point(Clock::duration(reads_end_.load())));
      if (Clock::now() >= end) return false;
      if (wait_for(sock_, POLLIN, std::min(end, Clock::now() + std::chrono::milliseconds(100)))) return true;
    }
  }

  int sock_;
  Clock::time_point deadline_;
  const std::atomic<Clock::rep>& reads_end_;
  size_t budget_;
  double write_seconds_;
  bool exhausted_ = false;
  char buf_[4096];
  size_t off_ = 0, len_ = 0;
};

Clock::time_point after(Clock::time_point t, double seconds) {
  return t + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}
Clock::time_point after(double seconds) { return after(Clock::now(), seconds); }

// httplib's pool, remembering when each connection was accepted: a connection
// that waited in the queue has used up that much of its first request's time.
class TimedPool : public httplib::ThreadPool {
 public:
  using ThreadPool::ThreadPool;
  void enqueue(std::function<void()> fn) override {
    ThreadPool::enqueue([fn = std::move(fn), accepted = Clock::now()] {
      t_accepted = accepted;
      fn();
    });
  }
};

// Closing a socket with unread input makes the kernel send RST, which can
// destroy the error reply before the client reads it: send FIN, then discard
// what the client still sends, for a short bounded while.
void lingering_close(int sock) {
  ::shutdown(sock, SHUT_WR);
  const auto until = after(1.0);
  char buf[4096];
  size_t drained = 0;
  while (drained < (size_t(1) << 20) && wait_for(sock, POLLIN, until)) {
    const ssize_t n = ::recv(sock, buf, sizeof buf, 0);
    if (n <= 0) break;
    drained += static_cast<size_t>(n);
  }
}

}  // namespace

BoundedHttpServer::BoundedHttpServer(const HttpLimits& limits) : limits_(limits) {
  const size_t threads = static_cast<size_t>(std::max(1, limits.threads));
  new_task_queue = [threads] { return new TimedPool(threads); };
  set_keep_alive_max_count(static_cast<size_t>(std::max(1, limits.keep_alive_requests)));
}

void BoundedHttpServer::close_after_response() { t_close_after_response = true; }

// Linux takes a second listen() on a listening socket as a new backlog.
void BoundedHttpServer::widen_backlog() { ::listen(svr_sock_, limits_.backlog); }

bool BoundedHttpServer::client_gone() {
  if (t_socket < 0) return false;
  pollfd p{t_socket, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;  // nothing to read: still there
  char c;
  const ssize_t n = ::recv(t_socket, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  // 0: closed; > 0: the client sent more (a pipelined request), so it is there.
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

void BoundedHttpServer::end_reads_at(Clock::time_point when) { reads_end_ = when.time_since_epoch().count(); }

// httplib's loop (detail::process_server_socket), with a deadline and a byte
// budget per request, and an idle wait that notices stop() within 100 ms.
bool BoundedHttpServer::process_and_close_socket(socket_t sock) {
  t_socket = sock;
  bool ok = false, linger = false;
  for (int count = limits_.keep_alive_requests; count > 0 && svr_sock_ != INVALID_SOCKET; --count) {
    // The first request's time starts at accept; a later one's when the previous answer is sent.
    const bool first = count == limits_.keep_alive_requests;
    const auto deadline = after(first ? t_accepted : Clock::now(), limits_.read_seconds);
    const auto idle_until = first ? deadline : std::min(deadline, after(limits_.keep_alive_seconds));
    bool readable = false;
    while (!readable && svr_sock_ != INVALID_SOCKET && Clock::now() < idle_until)
      readable = wait_for(sock, POLLIN, std::min(idle_until, after(0.1)));
    if (!readable) break;
    RequestStream strm(sock, deadline, reads_end_, limits_.read_bytes, static_cast<double>(write_timeout_sec_));
    bool connection_closed = false;
    t_close_after_response = false;
    ok = process_request(strm, count == 1, connection_closed, nullptr);
    linger = ok && t_close_after_response;
    if (!ok || connection_closed || strm.exhausted() || t_close_after_response) break;
  }
  if (linger) lingering_close(sock);
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  t_socket = -1;
  return ok;
}

}  // namespace prealign
