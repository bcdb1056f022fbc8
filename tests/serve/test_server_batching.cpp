// Continuous batching in the server, over real loopback sockets: many clients
// at once get exactly what the library decodes for each alone; a full queue
// answers 429 with Retry-After; a client that disconnects frees its slot at
// the next step; SIGTERM lets requests finish within --shutdown-deadline,
// cancels the rest (their streams still end properly) and exits 0.
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>

#include "core/utf8.hpp"
#include "decode/generator.hpp"
#include "model/checkpoint.hpp"
#include "running_server.hpp"
#include "serve/openai.hpp"
#include "serve_fixture.hpp"
#include "serve_process.hpp"

namespace prealign {
namespace {

using namespace prealign::testing;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// A request sent over a raw socket, read as it arrives, and closed at will:
// what a client that walks away mid-stream does.
class RawRequest {
 public:
  RawRequest(int port, const json& body) {
    sock_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(sock_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close();
      return;
    }
    const std::string b = body.dump();
    const std::string req = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                            "Content-Length: " + std::to_string(b.size()) + "\r\n\r\n" + b;
    if (::send(sock_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) close();
  }
  ~RawRequest() { close(); }
  // Reads until `needle` has arrived (true), the server closed, or `timeout` s passed.
  bool read_until(const std::string& needle, double timeout) {
    const auto t0 = Clock::now();
    while (received_.find(needle) == std::string::npos && sock_ >= 0 && seconds_since(t0) < timeout) {
      timeval tv{0, 100000};
      ::setsockopt(sock_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      char buf[4096];
      const ssize_t n = ::recv(sock_, buf, sizeof buf, 0);
      if (n == 0) break;
      if (n > 0) received_.append(buf, static_cast<size_t>(n));
    }
    return received_.find(needle) != std::string::npos;
  }
  const std::string& received() const { return received_; }
  void close() {
    if (sock_ >= 0) ::close(sock_);
    sock_ = -1;
  }

 private:
  int sock_ = -1;
  std::string received_;
};

// A value of the server's /metrics ("name value" lines); -1 if absent.
double metric(int port, const std::string& name) {
  httplib::Client c("127.0.0.1", port);
  auto res = c.Get("/metrics");
  if (!res) return -1;
  std::istringstream in(res->body);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  return -1;
}

// Waits up to `timeout` s for a metric to reach `value`.
bool metric_reaches(int port, const std::string& name, double value, double timeout = 20) {
  const auto t0 = Clock::now();
  while (metric(port, name) != value && seconds_since(t0) < timeout)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return metric(port, name) == value;
}

// A long request under no policy whose every token is forced (+100 on one text
// token): no end of text, so it decodes exactly max_tokens tokens.
json forced(const Tokenizer& tok, int max_tokens, bool stream) {
  return {{"prompt", "The user asks"}, {"max_tokens", max_tokens}, {"policy", "none"}, {"seed", 1},
          {"logit_bias", {{std::to_string(tok.encode("user").front()), 100}}}, {"stream", stream}};
}

TEST(ServeBatching, FortyConcurrentClientsGetWhatEachGetsAlone) {
  ServeOptions o;
  o.model = shared_serve_checkpoint();
  o.max_tokens = 64;
  o.max_batch = 8;
  RunningServer server(o);
  const std::vector<std::string> prompts = {"The user asks", "def f", "x", "The AI answers it helpfully and"};
  struct Ask {
    std::string prompt;
    int max_tokens, n;
    uint64_t seed;
    bool stream;
  };
  std::vector<Ask> asks;
  for (int i = 0; i < 40; ++i)
    asks.push_back({prompts[size_t(i) % prompts.size()], 6 + (i * 7) % 19, i % 5 == 0 ? 2 : 1, uint64_t(100 + i), i % 2 == 1});
  // choice texts, token ids and finish reasons, per request
  struct Got {
    int status = 0;
    std::vector<std::string> text, finish;
    std::vector<std::vector<int>> ids;
    bool done = false;
  };
  std::vector<Got> got(asks.size());
  std::vector<std::thread> clients;
  for (size_t i = 0; i < asks.size(); ++i)
    clients.emplace_back([&, i] {
      const Ask& a = asks[i];
      const json body = {{"prompt", a.prompt}, {"max_tokens", a.max_tokens}, {"n", a.n}, {"seed", a.seed},
                         {"temperature", 0.8}, {"stream", a.stream}};
      auto res = server.client().Post("/v1/completions", body.dump(), "application/json");
      Got& g = got[i];
      g.text.resize(size_t(a.n));
      g.finish.resize(size_t(a.n));
      g.ids.resize(size_t(a.n));
      if (!res) {
        g.finish.assign(size_t(a.n), "transport error: " + httplib::to_string(res.error()));
        return;
      }
      g.status = res->status;
      if (!a.stream) {
        const json r = json::parse(res->body, nullptr, false);
        g.done = r.is_object() && r["choices"].size() == size_t(a.n);
        for (size_t k = 0; g.done && k < size_t(a.n); ++k) {
          g.text[k] = r["choices"][k]["text"];
          g.finish[k] = r["choices"][k]["finish_reason"];
          for (const json& t : r["choices"][k]["prealign"]["tokens"]) g.ids[k].push_back(t["id"]);
        }
        return;
      }
      try {
        for (const json& e : sse_events(res->body, &g.done)) {
          const json& c = e["choices"][0];
          const size_t k = c["index"];
          g.text[k] += c.value("text", "");
          if (c.contains("prealign") && c["prealign"].contains("token")) g.ids[k].push_back(c["prealign"]["token"]["id"]);
          if (!c["finish_reason"].is_null()) g.finish[k] = c["finish_reason"];
        }
      } catch (const std::exception&) {
        g.done = false;  // an event that is not JSON
      }
    });
  for (auto& c : clients) c.join();
  // The mean batch really was more than one sequence.
  EXPECT_GT(metric(server.port(), "prealign_decode_step_sequences_total"),
            1.5 * metric(server.port(), "prealign_decode_steps_total"));

  // Each alone, through the library.
  LoadedCheckpoint ck = load_checkpoint(o.model, torch::kCPU);
  Tokenizer tok = Tokenizer::load_dir(o.model);
  Policy policy = Policy::from_json(ck.policy, TagVocabulary::of(tok), "policy");
  Generator gen(ck.model, tok, policy);
  for (size_t i = 0; i < asks.size(); ++i) {
    const Ask& a = asks[i];
    ASSERT_EQ(got[i].status, 200) << "request " << i << ": " << got[i].finish[0];
    EXPECT_TRUE(got[i].done) << "request " << i << ": incomplete or malformed response";
    for (int k = 0; k < a.n; ++k) {
      GenerateOptions go;
      go.max_new_tokens = a.max_tokens;
      go.temperature = 0.8;
      go.seed = a.seed + uint64_t(k);
      const Generation g = gen.generate(a.prompt, go);
      std::vector<int> ids;
      for (const TokenRecord& t : g.tokens) ids.push_back(t.id);
      EXPECT_EQ(got[i].ids[size_t(k)], ids) << "request " << i << " choice " << k;
      EXPECT_EQ(got[i].text[size_t(k)], replace_invalid_utf8(g.text)) << "request " << i << " choice " << k;
      EXPECT_EQ(got[i].finish[size_t(k)], openai_finish_reason(g)) << "request " << i << " choice " << k;
    }
  }
}

class OneSlot : public ::testing::Test {
 protected:
  // One sequence decodes, one waits, the third is refused. A model of 4096
  // positions keeps a forced request decoding for thousands of steps.
  static void SetUpTestSuite() {
    ckpt_ = new std::string(make_serve_checkpoint(temp_dir(), 4096));
    tok_ = new Tokenizer(Tokenizer::load_dir(*ckpt_));
    ServeOptions o;
    o.model = *ckpt_;
    o.max_tokens = 4000;
    o.max_batch = 1;
    o.max_queue = 1;
    server_ = new RunningServer(o);
  }
  static void TearDownTestSuite() {
    delete server_;
    delete tok_;
    delete ckpt_;
  }
  static std::string* ckpt_;
  static Tokenizer* tok_;
  static RunningServer* server_;
};
std::string* OneSlot::ckpt_ = nullptr;
Tokenizer* OneSlot::tok_ = nullptr;
RunningServer* OneSlot::server_ = nullptr;

TEST_F(OneSlot, AFullQueueGets429WithRetryAfterAndALeavingStreamFreesItsSlot) {
  const int port = server_->port();
  const double cancelled_before = metric(port, "prealign_cancelled_sequences_total");
  RawRequest hog(port, forced(*tok_, 4000, true));  // takes the slot for thousands of steps
  ASSERT_TRUE(hog.read_until("data: ", 20)) << hog.received();
  EXPECT_EQ(metric(port, "prealign_running_sequences"), 1);
  // The next one waits in the queue.
  std::atomic<int> queued_status{0};
  std::atomic<double> queued_seconds{0};
  std::thread queued([&] {
    const auto t0 = Clock::now();
    queued_status = server_->post("/v1/completions", {{"prompt", "x"}, {"max_tokens", 5}, {"seed", 2}}).status;
    queued_seconds = seconds_since(t0);
  });
  ASSERT_TRUE(metric_reaches(port, "prealign_queued_sequences", 1));
  // The third is refused: OpenAI's rate-limit error and a Retry-After in seconds.
  auto refused = server_->client().Post("/v1/completions", json{{"prompt", "x"}, {"max_tokens", 5}}.dump(),
                                        "application/json");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 429) << refused->body;
  const std::string retry = refused->get_header_value("Retry-After");
  ASSERT_FALSE(retry.empty());
  EXPECT_GE(std::stoi(retry), 1);
  EXPECT_LE(std::stoi(retry), 60);
  const json e = json::parse(refused->body);
  EXPECT_EQ(e["error"]["type"], "requests");
  EXPECT_EQ(e["error"]["code"], "rate_limit_exceeded");
  EXPECT_EQ(metric(port, "prealign_rejected_requests_total"), 1);
  EXPECT_EQ(metric(port, "prealign_batch_occupancy"), 1);
  // A request of more choices than the server can hold can never run: 400, not 429.
  EXPECT_EQ(server_->post("/v1/completions", {{"prompt", "x"}, {"n", 3}}).status, 400);

  // The hog walks away: its slot goes to the queued request at the next step,
  // which finishes long before the hog's 4000 tokens would have.
  hog.close();
  queued.join();
  EXPECT_EQ(queued_status, 200);
  EXPECT_EQ(metric(port, "prealign_cancelled_sequences_total"), cancelled_before + 1);
  EXPECT_TRUE(metric_reaches(port, "prealign_running_sequences", 0));
}

TEST_F(OneSlot, AClientThatLeavesWithoutStreamingFreesItsSlotToo) {
  const int port = server_->port();
  const double cancelled_before = metric(port, "prealign_cancelled_sequences_total");
  {
    RawRequest hog(port, forced(*tok_, 4000, false));
    ASSERT_TRUE(metric_reaches(port, "prealign_running_sequences", 1));
  }  // closed while its answer is being decoded
  ASSERT_TRUE(metric_reaches(port, "prealign_cancelled_sequences_total", cancelled_before + 1))
      << "the server went on decoding for a client that had left";
  const RunningServer::Reply r = server_->post("/v1/completions", {{"prompt", "x"}, {"max_tokens", 3}, {"seed", 1}});
  EXPECT_EQ(r.status, 200) << r.raw;
}


// The events of a raw streamed response, and whether "data: [DONE]" ended it.
std::vector<json> events_of(const std::string& raw, bool* done) {
  const size_t body = raw.find("\r\n\r\n");
  return sse_events(body == std::string::npos ? "" : raw.substr(body + 4), done);
}

TEST(ServeShutdown, SigtermFinishesInFlightRequestsWithinTheDeadlineThenCancelsAndExitsZero) {
  const std::string ckpt = make_serve_checkpoint(temp_dir(), 4096);
  const Tokenizer tok = Tokenizer::load_dir(ckpt);
  // A generous deadline: the request in flight finishes whole, and the process
  // does not wait for the deadline once it has.
  {
    ServeProcess server({"serve", "--model", ckpt, "--port", "0", "--max-tokens", "4000", "--shutdown-deadline", "30"});
    ASSERT_GT(server.port(), 0);
    RawRequest streamed(server.port(), forced(tok, 300, true));
    ASSERT_TRUE(streamed.read_until("data: ", 20));
    const auto t0 = Clock::now();
    server.signal(SIGTERM);
    ASSERT_TRUE(streamed.read_until("data: [DONE]", 30)) << streamed.received().substr(0, 300);
    EXPECT_EQ(server.wait_exit(10), 0);
    EXPECT_LT(seconds_since(t0), 20) << "the server waited for the deadline with nothing in flight";
    bool done = false;
    const std::vector<json> events = events_of(streamed.received(), &done);
    ASSERT_GE(events.size(), 2u);
    EXPECT_EQ(events.back()["choices"][0]["finish_reason"], "length");
    EXPECT_EQ(events.size(), 301u);  // 300 tokens, then the final event
  }
  // A short deadline: what is still decoding then ends "cancelled", streamed
  // and not, and the process exits 0 soon after.
  {
    ServeProcess server({"serve", "--model", ckpt, "--port", "0", "--max-tokens", "4000", "--shutdown-deadline",
                         "0.5", "--max-batch", "4"});
    ASSERT_GT(server.port(), 0);
    RawRequest streamed(server.port(), forced(tok, 4000, true));
    RawRequest plain(server.port(), forced(tok, 4000, false));
    ASSERT_TRUE(streamed.read_until("data: ", 20));
    ASSERT_TRUE(metric_reaches(server.port(), "prealign_running_sequences", 2));
    const auto t0 = Clock::now();
    server.signal(SIGTERM);
    ASSERT_TRUE(streamed.read_until("data: [DONE]", 10)) << streamed.received().substr(0, 300);
    ASSERT_TRUE(plain.read_until("\"object\":\"text_completion\"", 10)) << plain.received().substr(0, 300);
    EXPECT_EQ(server.wait_exit(10), 0);
    const double took = seconds_since(t0);
    EXPECT_GE(took, 0.4) << "requests in flight were not given the deadline";
    EXPECT_LT(took, 5.0);
    bool done = false;
    const std::vector<json> events = events_of(streamed.received(), &done);
    EXPECT_TRUE(done);
    ASSERT_GE(events.size(), 2u);
    EXPECT_EQ(events.back()["choices"][0]["finish_reason"], "cancelled");
    EXPECT_EQ(events.back()["choices"][0]["prealign"]["finish_reason"], "cancelled");
    EXPECT_LT(events.size(), 4001u);
    const json answer = json::parse(plain.received().substr(plain.received().find("\r\n\r\n") + 4), nullptr, false);
    ASSERT_TRUE(answer.is_object()) << plain.received().substr(0, 300);
    EXPECT_EQ(answer["choices"][0]["finish_reason"], "cancelled");
    // No one is listening any more.
    RawRequest late(server.port(), {{"prompt", "x"}});
    EXPECT_FALSE(late.read_until("HTTP/1.1", 1));
  }
}

}  // namespace
}  // namespace prealign
