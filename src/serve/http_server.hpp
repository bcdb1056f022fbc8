// cpp-httplib's server with a bound on each request rather than on each read.
// httplib times out one recv at a time, so a client trickling a header line
// every few seconds holds a worker thread for ever, and a request line without
// "\n" grows without limit; a handful of such clients starve /health. Here every
// request — line, headers and body — must arrive within `read_seconds` and
// `read_bytes`, or its connection is closed. (httplib lets a subclass replace
// the per-connection loop: SSLServer does the same.)
#pragma once
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstddef>

namespace prealign {

struct HttpLimits {
  double read_seconds = 10;        // to receive one request: request line, headers and body
  size_t read_bytes = 4u << 20;    // bytes of one request (line + headers + body)
  double keep_alive_seconds = 5;   // an idle connection waits this long for its next request
  int keep_alive_requests = 5;     // requests per connection
  int threads = 16;                // worker threads (each serves one connection at a time)
  int backlog = 1024;              // connections the kernel holds until accepted
};

class BoundedHttpServer : public httplib::Server {
 public:
  explicit BoundedHttpServer(const HttpLimits& limits);
  // From a handler: close the connection once the response is written (e.g.
  // after refusing a body without reading it, which would otherwise be parsed
  // as the next request).
  static void close_after_response();
  // After bind: the listen backlog of limits.backlog (httplib's is 5; a burst
  // of clients connecting at once overflowed it and some saw their connection
  // dropped).
  void widen_backlog();
  // From a handler: whether its client closed the connection (or reset it)
  // while the handler works on the answer. A client that only shuts down its
  // sending side looks gone too; HTTP clients waiting for an answer do not.
  static bool client_gone();
  // Requests still being received at `when` are cut off then (shutdown: a
  // slow client must not hold the process past its deadline).
  void end_reads_at(std::chrono::steady_clock::time_point when);

 private:
  bool process_and_close_socket(socket_t sock) override;
  HttpLimits limits_;
  std::atomic<std::chrono::steady_clock::rep> reads_end_{std::chrono::steady_clock::time_point::max().time_since_epoch().count()};
};

}  // namespace prealign
