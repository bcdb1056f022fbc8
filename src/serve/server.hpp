// `prealign serve`: one checkpoint behind an OpenAI-compatible HTTP API
// (/v1/completions, /v1/chat/completions, /v1/models, /health, /metrics, SSE
// streaming ending in "data: [DONE]"), every request decoded under the policy
// with per-token temptation in a "prealign" field, and a small web page at /.
// Prompts are plain text: unlike llama.cpp's server, tags are never parsed out
// of them. Requests from all clients are decoded together by continuous
// batching (serve/scheduler.hpp), behind a bounded queue.
#pragma once
#include <memory>
#include <string>

namespace prealign {

struct ServeOptions {
  std::string model;             // checkpoint directory
  std::string policy;            // file or shipped name; "" = the checkpoint's; "none" = no restrictions
  std::string host = "127.0.0.1";
  int port = 8080;               // 0 = any free port (printed at start)
  std::string device = "cpu";
  std::string model_name;        // id in /v1/models and responses (default: the directory's name)
  uint64_t max_body_bytes = uint64_t(4) << 20;
  int max_tokens = 1024;         // per choice
  int max_choices = 64;          // prompts x n per request
  int default_max_tokens = 128;
  int max_batch = 16;            // sequences decoded together, from any requests
  int max_queue = 64;            // sequences waiting for a slot; more get 429
  double shutdown_deadline = 10; // seconds requests in flight may take to finish after SIGTERM
  double read_timeout = 10;      // seconds to receive one request (line, headers and body)
  int http_threads = 0;          // connections served at once (0: max_batch + max_queue + 16)
  std::string api_key;           // "" = no key; else /v1/* and /metrics need "Authorization: Bearer <key>"
  bool lock_policy = false;      // refuse requests that would loosen `policy`

  template <class V>
  void visit(V& v) {
    v("model", model, "checkpoint directory");
    v("policy", policy, "policy file or name (default: the checkpoint's policy.json; none = unrestricted)");
    v("host", host, "address to listen on");
    v("port", port, "port to listen on (0 = any free port)");
    v("device", device, "cpu, cuda, cuda:N");
    v("model_name", model_name, "model id in responses (default: the checkpoint directory's name)");
    v("max_body_bytes", max_body_bytes, "larger request bodies are refused with 413");
    v("max_tokens", max_tokens, "largest max_tokens a request may ask for");
    v("max_choices", max_choices, "largest number of prompts x n in one request");
    v("default_max_tokens", default_max_tokens, "max_tokens when a request gives none");
    v("max_batch", max_batch, "sequences (choices of any requests) decoded together; a new one joins at the next step");
    v("max_queue", max_queue,
      "sequences waiting for a slot; a request that does not fit gets 429 with Retry-After");
    v("shutdown_deadline", shutdown_deadline,
      "on SIGTERM/SIGINT, seconds requests in flight may take to finish; then they end with finish_reason "
      "\"cancelled\"");
    v("read_timeout", read_timeout, "seconds a client has to send one whole request (then its connection is closed)");
    v("http_threads", http_threads,
      "connections served at once; 0 = --max-batch + --max-queue + 16 (each request in flight holds one; a slow "
      "client at most --read-timeout)");
    v("api_key", api_key,
      "require the header \"Authorization: Bearer KEY\" on /v1/* and /metrics (else 401); also read from "
      "PREALIGN_API_KEY, which other users cannot see in the process list as they can a command line");
    v("lock_policy", lock_policy,
      "refuse (403) any request whose policy, logit_bias or temptation rules would loosen this deployment's policy");
  }
};

class Server {
 public:
  explicit Server(const ServeOptions& options);  // loads the checkpoint; Error if it cannot
  ~Server();
  // Binds the socket and returns the port (useful with port 0); Error if it cannot.
  int bind();
  // Serves until stop(); returns once the requests in flight have finished
  // (or were cancelled at the deadline).
  void run();
  // From any thread (not a signal handler): stops accepting connections, lets
  // requests in flight finish for --shutdown-deadline seconds, then cancels them.
  void stop();

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace prealign
