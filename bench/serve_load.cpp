// A bounded load test of `prealign serve` on loopback: CLIENTS concurrent
// streaming /v1/completions requests, fired together, each timed from its send
// to its first token event (time to first token) and to "data: [DONE]" (total
// latency). Prints one JSON line: errors, requests/s, tokens/s, p50/p99 of both.
// A response counts as an error unless it is a 200 whose every event is JSON
// (or [DONE]), with no error event, a finish_reason, and [DONE] last.
//   build/bench/serve_load PORT [clients=200] [max_tokens=64]
// bench/serve_load.sh starts the servers and compares --max-batch settings.
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

struct Outcome {
  bool ok = false;
  std::string why;       // when not ok
  double first = -1;     // seconds from send to the first token event
  double total = -1;     // seconds from send to the end of the stream
  size_t tokens = 0;     // token events received
};

// Reads server-sent events as they arrive: whole "data: ..." lines only.
class EventReader {
 public:
  // Feeds bytes; calls `on_event` for each complete data line. False stops.
  template <class F>
  bool feed(const char* data, size_t n, F&& on_event) {
    buffer_.append(data, n);
    for (size_t end; (end = buffer_.find('\n')) != std::string::npos; buffer_.erase(0, end + 1)) {
      const std::string line = buffer_.substr(0, end);
      if (line.rfind("data: ", 0) == 0 && !on_event(line.substr(6))) return false;
    }
    return true;
  }

 private:
  std::string buffer_;
};

Outcome one_request(int port, int index, int max_tokens) {
  Outcome o;
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(600, 0);
  client.set_connection_timeout(30, 0);
  const json body = {{"prompt", "def task_" + std::to_string(index) + "(items):"},
                     {"max_tokens", max_tokens},
                     {"temperature", 0.8},
                     {"seed", index},
                     {"stream", true}};
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/completions";
  req.set_header("Content-Type", "application/json");
  req.body = body.dump();
  EventReader reader;
  bool done = false, finished = false;
  std::string problem;
  const auto t0 = Clock::now();
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    return reader.feed(data, n, [&](const std::string& payload) {
      if (payload == "[DONE]") {
        done = true;
        return true;
      }
      const json e = json::parse(payload, nullptr, false);
      if (!e.is_object() || done) {
        problem = "malformed event: " + payload.substr(0, 80);
        return false;
      }
      if (e.contains("error")) {
        problem = "error event: " + e["error"].dump();
        return false;
      }
      for (const json& c : e.value("choices", json::array())) {
        if (c.contains("prealign") && c["prealign"].contains("token")) {
          if (o.tokens++ == 0) o.first = seconds(Clock::now() - t0);
        }
        if (c.contains("finish_reason") && !c["finish_reason"].is_null()) finished = true;
      }
      return true;
    });
  };
  const httplib::Result res = client.send(req);
  o.total = seconds(Clock::now() - t0);
  if (!res) {
    o.why = "transport: " + httplib::to_string(res.error());
  } else if (res->status != 200) {
    o.why = "status " + std::to_string(res->status);
  } else if (!problem.empty()) {
    o.why = problem;
  } else if (!done || !finished) {
    o.why = done ? "no finish_reason" : "no [DONE]";
  } else {
    o.ok = true;
  }
  return o;
}

double percentile(std::vector<double> v, double q) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  const size_t i = static_cast<size_t>(std::min<double>(v.size() - 1, std::ceil(q * v.size()) - 1));
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: serve_load PORT [clients=200] [max_tokens=64]\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const int clients = argc > 2 ? std::atoi(argv[2]) : 200;
  const int max_tokens = argc > 3 ? std::atoi(argv[3]) : 64;

  // Every client thread waits at the gate, so the requests go out together.
  std::mutex m;
  std::condition_variable gate;
  bool open = false;
  std::vector<Outcome> outcomes(static_cast<size_t>(clients));
  std::vector<std::thread> threads;
  for (int i = 0; i < clients; ++i)
    threads.emplace_back([&, i] {
      {
        std::unique_lock<std::mutex> lock(m);
        gate.wait(lock, [&] { return open; });
      }
      outcomes[static_cast<size_t>(i)] = one_request(port, i, max_tokens);
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // all threads at the gate
  const auto t0 = Clock::now();
  {
    std::lock_guard<std::mutex> lock(m);
    open = true;
  }
  gate.notify_all();
  for (auto& t : threads) t.join();
  const double wall = seconds(Clock::now() - t0);

  size_t errors = 0, tokens = 0;
  std::vector<double> first, total;
  std::string first_error;
  for (const Outcome& o : outcomes) {
    tokens += o.tokens;
    if (!o.ok) {
      if (errors++ == 0) first_error = o.why;
      continue;
    }
    first.push_back(o.first);
    total.push_back(o.total);
  }
  const json report = {{"clients", clients},
                       {"max_tokens", max_tokens},
                       {"errors", errors},
                       {"first_error", first_error},
                       {"seconds", wall},
                       {"tokens", tokens},
                       {"requests_per_s", double(clients - errors) / wall},
                       {"tokens_per_s", double(tokens) / wall},
                       {"ttft_p50_ms", 1e3 * percentile(first, 0.50)},
                       {"ttft_p99_ms", 1e3 * percentile(first, 0.99)},
                       {"latency_p50_ms", 1e3 * percentile(total, 0.50)},
                       {"latency_p99_ms", 1e3 * percentile(total, 0.99)}};
  std::printf("%s\n", report.dump().c_str());
  return errors == 0 ? 0 : 1;
}
