// The server against hostile clients over real loopback sockets: errors inside
// a stream end that stream (an SSE error event), never the process; over-limit
// bodies get the JSON error object whatever their Content-Type; slow or endless
// requests are cut off per request, so they cannot starve /health; a second
// SIGTERM exits at once.
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <sstream>
#include <thread>

#include "model/safetensors.hpp"
#include "serve/server.hpp"
#include "serve_fixture.hpp"

namespace prealign {
namespace {

using namespace prealign::testing;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// A raw TCP connection to the server, for what httplib's client will not send.
int connect_to(int port) {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(s);
    return -1;
  }
  return s;
}

bool send_all(int s, const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::send(s, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Everything the server sends until it closes the connection (or `timeout` s).
std::string read_until_closed(int s, double timeout) {
  timeval tv{static_cast<long>(timeout), static_cast<long>(std::fmod(timeout, 1.0) * 1e6)};
  ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::recv(s, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<size_t>(n));
  return out;
}

// The JSON body of a raw HTTP response.
json body_of(const std::string& response) {
  const size_t b = response.find("\r\n\r\n");
  return b == std::string::npos ? json() : json::parse(response.substr(b + 4), nullptr, false);
}

class ServerLimits : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(temp_dir());
    ckpt_ = new std::string(make_serve_checkpoint(*dir_));
    // Final norm weights of 1e30 give logits near 1e30: fine at temperature 1,
    // +inf at temperature 1e-9 (a normal float), an error deep in the sampler.
    SafetensorsFile w = load_safetensors(*ckpt_ + "/model.safetensors");
    std::vector<std::pair<std::string, torch::Tensor>> tensors(w.tensors.begin(), w.tensors.end());
    for (auto& [name, t] : tensors)
      if (name == "model.norm.weight") t = t * 1e30f;
    save_safetensors(*ckpt_ + "/model.safetensors", tensors, {{"format", "pt"}});
    ServeOptions o;
    o.model = *ckpt_;
    o.port = 0;
    o.max_body_bytes = 20000;
    o.max_tokens = 16;
    o.http_threads = 4;
    o.read_timeout = 1.5;
    server_ = new Server(o);
    port_ = server_->bind();
    thread_ = new std::thread([] { server_->run(); });
  }
  static void TearDownTestSuite() {
    server_->stop();
    thread_->join();
    delete thread_;
    delete server_;
  }
  static httplib::Client client() {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(30, 0);
    return c;
  }
  static void expect_alive() {
    auto h = client().Get("/health");
    ASSERT_TRUE(h) << "the server is gone";
    EXPECT_EQ(h->status, 200);
  }
  static std::string* dir_;
  static std::string* ckpt_;
  static Server* server_;
  static std::thread* thread_;
  static int port_;
};
std::string* ServerLimits::dir_ = nullptr;
std::string* ServerLimits::ckpt_ = nullptr;
Server* ServerLimits::server_ = nullptr;
std::thread* ServerLimits::thread_ = nullptr;
int ServerLimits::port_ = 0;

TEST_F(ServerLimits, FloatFieldsThatVanishAsFloatsAreRefusedBeforeStreaming) {
  for (const char* t : {"1e-300", "1e-42"}) {
    const std::string body = std::string(R"({"prompt": "x", "max_tokens": 4, "stream": true, "temperature": )") + t + "}";
    auto res = client().Post("/v1/completions", body, "application/json");
    ASSERT_TRUE(res) << t;
    EXPECT_EQ(res->status, 400) << res->body;
    EXPECT_EQ(json::parse(res->body)["error"]["param"], "temperature");
  }
  expect_alive();
}

TEST_F(ServerLimits, AnErrorInsideAStreamEndsTheStreamNotTheServer) {
  const json body = {{"prompt", "x"}, {"max_tokens", 4}, {"temperature", 1e-9}, {"seed", 1}};
  // not streamed: an error reply
  auto plain = client().Post("/v1/completions", body.dump(), "application/json");
  ASSERT_TRUE(plain);
  EXPECT_GE(plain->status, 400);
  EXPECT_NE(json::parse(plain->body)["error"]["message"].get<std::string>().find("+inf"), std::string::npos)
      << plain->body;
  // streamed: an error event, then [DONE]
  json streamed = body;
  streamed["stream"] = true;
  for (const char* path : {"/v1/completions", "/v1/chat/completions"}) {
    json b = streamed;
    if (std::string(path) == "/v1/chat/completions") {
      b.erase("prompt");
      b["messages"] = {{{"role", "user"}, {"content", "x"}}};
    }
    auto res = client().Post(path, b.dump(), "application/json");
    ASSERT_TRUE(res) << path << ": the server died";
    std::istringstream in(res->body);
    std::vector<std::string> events;
    for (std::string line; std::getline(in, line);)
      if (line.rfind("data: ", 0) == 0) events.push_back(line.substr(6));
    ASSERT_GE(events.size(), 2u) << res->body;
    EXPECT_EQ(events.back(), "[DONE]");
    const json err = json::parse(events[events.size() - 2]);
    ASSERT_TRUE(err.contains("error")) << err.dump();
    EXPECT_NE(err["error"]["message"].get<std::string>().find("+inf"), std::string::npos) << err.dump();
    EXPECT_EQ(err["error"]["type"], "server_error");
  }
  expect_alive();
  // temperature 1 on the same model works
  auto ok = client().Post("/v1/completions", json{{"prompt", "x"}, {"max_tokens", 3}, {"seed", 1}}.dump(),
                          "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
}

TEST_F(ServerLimits, OverLimitBodiesGetTheErrorObjectWhateverTheirType) {
  const std::string big = json{{"prompt", std::string(30000, 'a')}}.dump();
  for (const char* type : {"application/json", "application/x-www-form-urlencoded", "text/plain"}) {
    auto res = client().Post("/v1/completions", big, type);
    ASSERT_TRUE(res) << type;
    EXPECT_EQ(res->status, 413) << type;
    const json e = json::parse(res->body, nullptr, false);
    ASSERT_TRUE(e.is_object()) << type << ": " << res->body;
    EXPECT_EQ(e["error"]["type"], "request_too_large") << type;
    EXPECT_NE(e["error"]["message"].get<std::string>().find("20000"), std::string::npos);
  }
  // chunked, so no Content-Length to refuse early: counted while read
  const int s = connect_to(port_);
  ASSERT_GE(s, 0);
  std::ostringstream chunked;
  chunked << "POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 8; ++i) chunked << std::hex << 4000 << "\r\n" << std::string(4000, ' ') << "\r\n";
  chunked << "0\r\n\r\n";
  send_all(s, chunked.str());
  const std::string reply = read_until_closed(s, 5);
  ::close(s);
  EXPECT_EQ(reply.rfind("HTTP/1.1 413", 0), 0u) << reply.substr(0, 200);
  EXPECT_EQ(body_of(reply)["error"]["type"], "request_too_large") << reply;
  expect_alive();
}

// What `curl -d` sends: Content-Type application/x-www-form-urlencoded. httplib
// refused such bodies over 8 KiB with an empty 413; JSON is JSON whatever the label.
TEST_F(ServerLimits, JsonBodiesOverEightKilobytesAreAcceptedWithoutTheJsonType) {
  const json body = {{"prompt", "x"}, {"max_tokens", 2}, {"seed", 3}, {"stop", "\u00a7" + std::string(9000, ' ')}};
  ASSERT_GT(body.dump().size(), 9000u);
  for (const char* type : {"application/x-www-form-urlencoded", "text/plain"}) {
    auto res = client().Post("/v1/completions", body.dump(), type);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200) << type << ": " << res->body;
    EXPECT_EQ(json::parse(res->body)["choices"].size(), 1u);
  }
  auto multipart = client().Post("/v1/completions", "--b\r\n\r\nx\r\n--b--\r\n", "multipart/form-data; boundary=b");
  ASSERT_TRUE(multipart);
  EXPECT_EQ(multipart->status, 415);
  EXPECT_TRUE(json::parse(multipart->body)["error"].is_object());
  auto missing = client().Get("/v1/nothing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_TRUE(json::parse(missing->body)["error"].is_object()) << missing->body;
}

TEST_F(ServerLimits, PromptLongerThanTheContextCanHoldIsRefusedBeforeEncoding) {
  // The bound, computed here from the tokenizer's table: context x longest token.
  const Tokenizer tok = Tokenizer::load_dir(*ckpt_);
  size_t longest = 0;
  for (int id = 0; id < tok.vocab_size(); ++id) longest = std::max(longest, tok.token_bytes(id).size());
  const size_t bound = 96 * longest;  // the fixture's ctx=96
  ASSERT_LT(bound + 1, 19000u);
  auto res = client().Post("/v1/completions", json{{"prompt", std::string(bound + 1, 'A')}}.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  const json e = json::parse(res->body);
  EXPECT_EQ(e["error"]["param"], "prompt");
  EXPECT_NE(e["error"]["message"].get<std::string>().find("at most " + std::to_string(bound) + " bytes"),
            std::string::npos) << e.dump();
}

TEST_F(ServerLimits, SlowClientsAreCutOffAndCannotStarveHealth) {
  // Ten clients trickle header lines (one per 200 ms, forever) at a server
  // with 4 worker threads and --read-timeout 1.5 s.
  std::vector<std::thread> slow;
  std::vector<double> cut_after(10, -1);
  for (int i = 0; i < 10; ++i)
    slow.emplace_back([&, i] {
      const auto t0 = Clock::now();
      const int s = connect_to(port_);
      if (s < 0) return;
      bool open = send_all(s, "POST /v1/completions HTTP/1.1\r\nHost: x\r\n");
      for (int k = 0; open && seconds_since(t0) < 20; ++k) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        char c;
        const bool answered_or_closed = ::recv(s, &c, 1, MSG_DONTWAIT | MSG_PEEK) >= 0;
        open = !answered_or_closed && send_all(s, "X-Slow-" + std::to_string(k) + ": 1\r\n");
      }
      if (!open) cut_after[static_cast<size_t>(i)] = seconds_since(t0);
      ::close(s);
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto t0 = Clock::now();
  httplib::Client c("127.0.0.1", port_);
  c.set_read_timeout(10, 0);
  auto h = c.Get("/health");
  const double waited = seconds_since(t0);
  ASSERT_TRUE(h) << "/health did not answer";
  EXPECT_EQ(h->status, 200);
  EXPECT_LT(waited, 4.0) << "/health waited for the slow clients";
  for (auto& t : slow) t.join();
  for (size_t i = 0; i < cut_after.size(); ++i) {
    EXPECT_GT(cut_after[i], 0) << "slow client " << i << " was never cut off";
    EXPECT_LT(cut_after[i], 4.0) << "slow client " << i;  // 1.5 s from accept, queued or not
  }
}

TEST_F(ServerLimits, ARequestLineThatNeverEndsIsCutOffInBoundedMemory) {
  const int s = connect_to(port_);
  ASSERT_GE(s, 0);
  const std::string chunk(1 << 16, 'A');
  size_t sent = 0;
  while (sent < (size_t(64) << 20) && send_all(s, chunk)) sent += chunk.size();
  ::close(s);
  // the server closed the connection after its per-request budget (body limit + 64 KiB)
  EXPECT_LT(sent, size_t(64) << 20) << "64 MB of request line were accepted";
  expect_alive();
}

// `prealign serve` as a process: the first SIGTERM waits for requests in
// flight, the second exits at once.
TEST_F(ServerLimits, SecondSignalForcesExit) {
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::execl(PREALIGN_BINARY, PREALIGN_BINARY, "serve", "--model", ckpt_->c_str(), "--port", "0", "--read-timeout",
            "60", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(out[1]);
  std::string banner;
  char c;
  while (banner.find('\n') == std::string::npos && ::read(out[0], &c, 1) == 1) banner += c;
  const size_t colon = banner.rfind(':');
  ASSERT_NE(colon, std::string::npos) << banner;
  const int port = std::atoi(banner.c_str() + colon + 1);
  const int held = connect_to(port);  // a request that is never finished holds a worker
  ASSERT_GE(held, 0);
  send_all(held, "POST /v1/completions HTTP/1.1\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ::kill(pid, SIGTERM);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, WNOHANG), 0) << "the first SIGTERM did not wait for the request in flight";
  const auto t0 = Clock::now();
  ::kill(pid, SIGTERM);
  pid_t done = 0;
  while ((done = ::waitpid(pid, &status, WNOHANG)) == 0 && seconds_since(t0) < 5)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ::close(held);
  ::close(out[0]);
  if (done == 0) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    FAIL() << "a second SIGTERM did not end the server";
  }
  EXPECT_LT(seconds_since(t0), 2.0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
}

}  // namespace
}  // namespace prealign
