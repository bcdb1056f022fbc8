// A Server on a free loopback port, on its own thread until destroyed, and the
// few client calls the HTTP tests make; plus the SSE reader they share.
#pragma once
#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/json_io.hpp"
#include "serve/server.hpp"

namespace prealign::testing {

class RunningServer {
 public:
  explicit RunningServer(ServeOptions o) {
    o.port = 0;
    server_ = std::make_unique<Server>(o);
    port_ = server_->bind();
    thread_ = std::thread([this] { server_->run(); });
  }
  ~RunningServer() {
    server_->stop();
    thread_.join();
  }
  int port() const { return port_; }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(120, 0);
    return c;
  }
  struct Reply {
    int status = 0;  // 0: no answer
    json body;       // parsed when JSON
    std::string raw;
  };
  Reply post(const std::string& path, const json& body, const httplib::Headers& headers = {}) const {
    auto res = client().Post(path.c_str(), headers, body.dump(), "application/json");
    Reply r;
    if (!res) return r;
    r.status = res->status;
    r.raw = res->body;
    r.body = json::parse(res->body, nullptr, false);
    return r;
  }

 private:
  std::unique_ptr<Server> server_;
  std::thread thread_;
  int port_ = 0;
};

// The JSON events of a server-sent-event body; *done tells whether "data: [DONE]" ended it.
inline std::vector<json> sse_events(const std::string& body, bool* done) {
  std::vector<json> events;
  std::istringstream in(body);
  *done = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("data: ", 0) != 0) continue;
    if (line == "data: [DONE]") {
      *done = true;
      continue;
    }
    events.push_back(json::parse(line.substr(6)));
  }
  return events;
}

}  // namespace prealign::testing
