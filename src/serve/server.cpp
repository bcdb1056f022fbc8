#include "serve/server.hpp"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>

#include "core/error.hpp"
#include "core/paths.hpp"
#include "core/progress.hpp"
#include "model/checkpoint.hpp"
#include "model/runtime.hpp"
#include "serve/http_server.hpp"
#include "serve/openai.hpp"
#include "serve/policy_catalog.hpp"
#include "serve/request_policy.hpp"
#include "serve/run_metrics.hpp"
#include "serve/scheduler.hpp"
#include "serve/web_page.hpp"

namespace prealign {

namespace {

Policy load_policy(const ServeOptions& o, const LoadedCheckpoint& ck, const TagVocabulary& vocab) {
  if (o.policy == "none") return Policy::unrestricted(vocab);
  if (!o.policy.empty()) return Policy::load(resolve_config(o.policy, "configs/policies"), vocab);
  if (ck.policy.is_object() && ck.policy.empty()) return Policy::unrestricted(vocab);
  return Policy::from_json(ck.policy, vocab, o.model + "/policy.json");
}

// The message of an error httplib found before any handler ran.
std::string status_text(int status) {
  switch (status) {
    case 400: return "bad request (malformed request line or headers, or not sent within --read-timeout)";
    case 404: return "no such endpoint";
    case 405: return "method not allowed";
    case 413: return "request too large";
    case 414: return "request line too long";
    case 416: return "bad Range header";
    default: return "HTTP error " + std::to_string(status);
  }
}

// The endpoint label of /metrics: a client's arbitrary paths must not grow the
// table (or put their bytes into the Prometheus text).
std::string metrics_label(const std::string& path) {
  for (const char* known : {"/", "/health", "/metrics", "/v1/models", "/v1/completions", "/v1/chat/completions",
                            "/v1/prealign/policy", "/v1/prealign/metrics"})
    if (path == known) return path;
  return "other";
}

// Room for the request line and headers on top of --max-body-bytes.
constexpr size_t kMaxHeadBytes = 64 << 10;

std::string default_name(const std::string& dir) {
  std::filesystem::path p = std::filesystem::path(dir).lexically_normal();
  if (p.filename().empty()) p = p.parent_path();
  // runs/x/checkpoint -> "x": the run's name says more than "checkpoint"
  if (p.filename() == "checkpoint" && p.has_parent_path()) p = p.parent_path();
  return p.filename().string();
}

// One streamed choice: text is released as it becomes final (not the start of
// a stop string, not half a character), and tokens' logprobs with it.
struct StreamedChoice {
  TokenTextAligner tokens;  // .text(): all generated text so far (tags removed)
  size_t released = 0;      // bytes of the text already sent
  Utf8Stream utf8;
  bool stopped = false;
  bool started = false;     // an event of this choice went out (in chat, with delta.role)
};

// The server-sent events of one streamed response: a chunk per token with the
// text that became final, and for each choice as it ends the held-back tail
// and a last event with its finish_reason.
class EventStream {
 public:
  EventStream(httplib::DataSink& sink, bool chat, const SamplingRequest& sampling, ResponseMeta meta, size_t n)
      : sink_(sink), chat_(chat), sampling_(sampling), meta_(std::move(meta)), choices_(n) {
    for (const auto& s : sampling.stop) longest_stop_ = std::max(longest_stop_, s.size());
  }

  // False once the client cannot be written to.
  bool send(json j) {
    if (sampling_.include_usage && !j.contains("usage")) j["usage"] = nullptr;  // as OpenAI's stream does
    const std::string line = "data: " + j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n";
    return sink_.is_writable() && sink_.write(line.data(), line.size());
  }

  bool token(size_t i, const TokenRecord& t) {
    StreamedChoice& c = choices_[i];
    if (c.stopped) return true;  // past a stop string: not part of the answer
    c.tokens.add(t);
    const std::string& text = c.tokens.text();
    StreamPiece piece{i, "", &t, {}, !c.started};
    size_t until = text.size() - std::min(text.size(), longest_stop_ ? longest_stop_ - 1 : 0);
    const size_t cut = find_stop(text, sampling_.stop);
    if (cut != std::string::npos) {
      until = cut;
      c.stopped = true;
    }
    if (until > c.released) piece.text = c.utf8.push(text.substr(c.released, until - c.released));
    if (c.stopped) piece.text += c.utf8.flush();
    c.released = std::max(c.released, until);
    piece.released = c.stopped ? c.tokens.finish(cut) : c.tokens.release(until);
    c.started = true;
    return chunk(piece);
  }

  // `g` already cut at its stop string (apply_stop).
  void finish(size_t i, const Generation& g) {
    StreamedChoice& c = choices_[i];
    if (!c.stopped) {  // the held-back tail, now final
      const std::string& text = c.tokens.text();
      StreamPiece tail{i, "", nullptr, c.tokens.finish(), !c.started};
      if (c.released < text.size()) tail.text = c.utf8.push(text.substr(c.released));
      tail.text += c.utf8.flush();
      if (!tail.text.empty() || !tail.released.empty()) {
        chunk(tail);
        c.started = true;
      }
    }
    send(final_chunk(chat_, i, !c.started, g, meta_));
  }

  void done() {
    const std::string line = "data: [DONE]\n\n";
    if (sink_.is_writable()) sink_.write(line.data(), line.size());
    sink_.done();
  }

  const ResponseMeta& meta() const { return meta_; }

 private:
  bool chunk(const StreamPiece& p) {
    return send(chat_ ? chat_chunk(p, sampling_, meta_) : completion_chunk(p, sampling_, meta_));
  }

  httplib::DataSink& sink_;
  bool chat_;
  const SamplingRequest& sampling_;
  ResponseMeta meta_;
  std::vector<StreamedChoice> choices_;
  size_t longest_stop_ = 0;
};

// How often a handler waiting for tokens checks that its client is still there.
constexpr std::chrono::milliseconds kClientCheck{100};

// Cancels a request's sequences when its handler is done with it, whichever
// way it leaves (an answer, an error, a client gone): nobody decodes for a
// request no one will read.
struct CancelOnExit {
  explicit CancelOnExit(std::shared_ptr<RequestChannel> c) : channel(std::move(c)) {}
  CancelOnExit(const CancelOnExit&) = delete;  // a copy's end would cancel too early
  CancelOnExit& operator=(const CancelOnExit&) = delete;
  ~CancelOnExit() {
    if (channel) channel->cancel();
  }
  std::shared_ptr<RequestChannel> channel;
};

// Which paths need the API key: the API and its counters. /health stays open
// for load balancers, and / is a static page (its requests go to /v1).
bool needs_key(const std::string& path) { return path.rfind("/v1/", 0) == 0 || path == "/metrics"; }

// "Bearer <key>" compared in time independent of where it differs.
bool key_matches(const std::string& header, const std::string& key) {
  const std::string prefix = "Bearer ";
  if (header.size() != prefix.size() + key.size() || header.compare(0, prefix.size(), prefix) != 0) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < key.size(); ++i) diff |= static_cast<unsigned char>(header[prefix.size() + i] ^ key[i]);
  return diff == 0;
}

}  // namespace

struct Server::State {
  ServeOptions o;
  ServeLimits limits;
  LoadedCheckpoint ck;
  std::unique_ptr<Tokenizer> tokenizer;
  std::shared_ptr<const Policy> policy;  // the deployment's; a request may decode under another (request_policy)
  TagVocabulary vocab;
  std::unique_ptr<Generator> generator;  // checks that policy and tokenizer agree
  std::string name;
  json policy_info;           // GET /v1/prealign/policy, fixed at start
  std::string metrics_path;   // the run's metrics.jsonl, "" if none (GET /v1/prealign/metrics)
  std::unique_ptr<BoundedHttpServer> http;
  std::unique_ptr<Scheduler> scheduler;  // owns the model's decoding from here on
  std::atomic<bool> stopping{false};
  // /metrics
  std::mutex metrics_mutex;
  std::map<std::pair<std::string, int>, uint64_t> requests;  // (endpoint, status) -> count
  std::atomic<uint64_t> tokens{0}, flags{0}, stops{0}, choices{0}, rules_fired{0}, rule_ends{0};
  std::atomic<uint64_t> stream_errors{0};  // streams that ended in an error event after their 200

  void count(const std::string& endpoint, int status) {
    std::lock_guard<std::mutex> lock(metrics_mutex);
    ++requests[{endpoint, status}];
  }

  ResponseMeta meta(const char* prefix) {
    static std::atomic<uint64_t> counter{0};
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    return {std::string(prefix) + std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(now).count()) +
                "-" + std::to_string(counter++),
            name, std::chrono::duration_cast<std::chrono::seconds>(now).count()};
  }

  // Queues a request's choices. When refused, the reply is set (429 with
  // Retry-After when the server holds --max-batch + --max-queue sequences
  // already, 503 when it is shutting down) and nullptr returned.
  std::shared_ptr<RequestChannel> submit(DecodeJob job, httplib::Response& res, const std::string& endpoint) {
    Scheduler::Refusal why = Scheduler::Refusal::none;
    std::shared_ptr<RequestChannel> channel = scheduler->submit(std::move(job), &why);
    if (why == Scheduler::Refusal::full) {
      res.set_header("Retry-After", std::to_string(scheduler->retry_after_seconds()));
      reply_error(res, endpoint, 429,
                  "the server is busy: " + std::to_string(o.max_batch + o.max_queue) +
                      " sequences are decoding or queued (--max-batch + --max-queue); retry after Retry-After seconds",
                  "", "rate_limit_exceeded");
    } else if (why == Scheduler::Refusal::closing) {
      reply_error(res, endpoint, 503, "the server is shutting down");
    }
    return channel;
  }

  // A finished choice: cut at a stop string, and counted.
  void finish(Generation& g, const SamplingRequest& r) {
    apply_stop(g, r.stop);
    tokens += g.tokens.size();
    flags += static_cast<uint64_t>(g.flags);
    stops += g.finish_reason == "temptation";
    rule_ends += g.finish_reason == "rule";
    for (const TokenRecord& t : g.tokens) rules_fired += t.rules.size();
    ++choices;
  }

  // Waits for every choice of a request (not streamed). False if the client
  // went away first: its sequences are cancelled and no one needs an answer.
  // A choice that failed is thrown.
  bool collect(RequestChannel& channel, std::vector<Generation>& out, const SamplingRequest& r) {
    for (size_t left = out.size(); left > 0;) {
      std::vector<ChoiceEvent> events;
      if (!channel.wait(events, kClientCheck)) {
        if (!BoundedHttpServer::client_gone()) continue;
        channel.cancel();
        return false;
      }
      for (ChoiceEvent& e : events) {
        if (!e.finished) continue;
        if (e.error) std::rethrow_exception(e.error);
        out[e.choice] = std::move(e.generation);
        finish(out[e.choice], r);
        --left;
      }
    }
    return true;
  }

  void reply_error(httplib::Response& res, const std::string& endpoint, int status, const std::string& message,
                   const std::string& param = "", const std::string& code = "") {
    const char* type = status == 413   ? "request_too_large"
                       : status == 429 ? "requests"  // OpenAI's type for a rate limit
                       : status == 403 ? "permission_error"
                       : status >= 500 ? "server_error"
                                       : "invalid_request_error";
    res.status = status;
    // Messages may quote bytes of the request (parser errors): never let them throw while dumping.
    res.set_content(error_body(message, type, param, code).dump(-1, ' ', false, json::error_handler_t::replace),
                    "application/json");
    count(endpoint, status);
  }

  // The body, whatever its Content-Type (curl -d sends form-urlencoded): at
  // most max_body_bytes, refused with 413 before reading when Content-Length
  // says more. False when the reply is already set.
  bool read_body(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
                 const std::string& endpoint, std::string& body) {
    if (req.is_multipart_form_data()) {
      BoundedHttpServer::close_after_response();
      reply_error(res, endpoint, 415, "the body must be a JSON object, not multipart/form-data");
      return false;
    }
    const std::string declared = req.get_header_value("Content-Length");
    const auto too_large = [&] {
      BoundedHttpServer::close_after_response();  // the unread rest must not be taken for the next request
      reply_error(res, endpoint, 413, "the request body is larger than " + std::to_string(o.max_body_bytes) +
                                          " bytes (--max-body-bytes)");
      return false;
    };
    if (!declared.empty() && std::strtoull(declared.c_str(), nullptr, 10) > o.max_body_bytes) return too_large();
    bool over = false;
    const bool ok = reader([&](const char* data, size_t n) {
      if (body.size() + n > o.max_body_bytes) return !(over = true);
      body.append(data, n);
      return true;
    });
    if (over) return too_large();
    if (!ok) {
      BoundedHttpServer::close_after_response();
      reply_error(res, endpoint, 400, "the request body could not be read (sent too slowly, or cut short)");
      return false;
    }
    return true;
  }

  void handle_generation(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
                         bool chat) {
    const std::string endpoint = chat ? "/v1/chat/completions" : "/v1/completions";
    std::string text;
    if (!read_body(req, res, reader, endpoint, text)) return;
    try {
      const json body = parse_request_json(text);
      std::vector<std::vector<int>> contexts;
      SamplingRequest sampling;
      std::vector<std::string> prompts;
      std::shared_ptr<const Policy> request_pol;
      if (chat) {
        ChatRequest r = parse_chat_request(body, limits);
        sampling = r.sampling;
        request_pol = request_policy(sampling.control, policy, vocab, o.lock_policy);
        const std::vector<int> ctx = chat_context(r.messages, *tokenizer, *request_pol);
        for (int k = 0; k < sampling.n; ++k) contexts.push_back(ctx);
      } else {
        CompletionRequest r = parse_completion_request(body, limits);
        sampling = r.sampling;
        request_pol = request_policy(sampling.control, policy, vocab, o.lock_policy);
        for (const auto& p : r.prompts)
          for (int k = 0; k < sampling.n; ++k) {
            contexts.push_back(prompt_context(*tokenizer, *request_pol, p));
            prompts.push_back(p);
          }
      }
      sampling.options.top_raw = sampling.logprobs ? sampling.top_logprobs : 0;
      for (const auto& c : contexts)
        if (static_cast<int64_t>(c.size()) > ck.config.max_seq_len)
          throw RequestError(400, "the prompt is " + std::to_string(c.size()) + " tokens, the model's context is " +
                                      std::to_string(ck.config.max_seq_len), chat ? "messages" : "prompt");
      const size_t n = contexts.size();
      std::shared_ptr<RequestChannel> channel =
          submit({std::move(contexts), request_pol, sampling.options, sampling.stop, sampling.stream}, res, endpoint);
      if (!channel) return;  // 429 or 503
      if (sampling.stream) return stream(res, endpoint, chat, std::move(channel), n, sampling);
      const CancelOnExit cancel(channel);
      std::vector<Generation> out(n);
      if (!collect(*channel, out, sampling)) {
        count(endpoint, 499);  // nginx's "client closed request": nobody reads this answer
        return;
      }
      for (size_t i = 0; i < prompts.size(); ++i) out[i].prompt = prompts[i];
      const ResponseMeta m = meta(chat ? "chatcmpl-" : "cmpl-");
      json reply = chat ? chat_response(out, sampling, m) : completion_response(out, sampling, m);
      res.set_content(reply.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
      count(endpoint, 200);
    } catch (const RequestError& e) {
      reply_error(res, endpoint, e.status, e.what(), e.param);
    } catch (const Error& e) {
      reply_error(res, endpoint, 400, e.what());
    }
  }

  // Server-sent events: one chunk per token as it is decoded, a final chunk per
  // choice as it ends, the usage if asked for, then "data: [DONE]". A client
  // that goes away cancels its sequences (at the scheduler's next step).
  void stream(httplib::Response& res, const std::string& endpoint, bool chat, std::shared_ptr<RequestChannel> channel,
              size_t n, const SamplingRequest& sampling) {
    count(endpoint, 200);
    auto cancel = std::make_shared<CancelOnExit>(std::move(channel));
    res.set_chunked_content_provider(
        "text/event-stream", [this, chat, n, sampling, cancel](size_t, httplib::DataSink& sink) {
          RequestChannel& channel = *cancel->channel;
          EventStream events(sink, chat, sampling, meta(chat ? "chatcmpl-" : "cmpl-"), n);
          std::vector<Generation> out(n);
          // This runs after the handler returned, outside httplib's exception
          // handling: an error here must end the stream, never the process.
          try {
            for (size_t left = n; left > 0;) {
              std::vector<ChoiceEvent> got;
              if (!channel.wait(got, kClientCheck)) {
                if (sink.is_writable()) continue;
                channel.cancel();  // the client went away while its choices waited or decoded
                return false;
              }
              for (ChoiceEvent& e : got) {
                if (e.error) std::rethrow_exception(e.error);
                if (!e.finished) {
                  if (events.token(e.choice, e.token)) continue;
                  channel.cancel();  // the client went away
                  return false;
                }
                finish(e.generation, sampling);
                events.finish(e.choice, e.generation);
                out[e.choice] = std::move(e.generation);
                --left;
              }
            }
            if (sampling.include_usage) events.send(usage_chunk(chat, out, sampling.n, events.meta()));
          } catch (const std::exception& e) {
            channel.cancel();
            events.send(error_body(std::string("generation failed: ") + e.what(), "server_error", ""));
            ++stream_errors;  // the status line said 200 already: counted apart, not as a second status
          } catch (...) {
            channel.cancel();
            events.send(error_body("generation failed", "server_error", ""));
            ++stream_errors;
          }
          events.done();
          return true;
        });
  }

  std::string metrics_text() {
    std::string out = "# TYPE prealign_requests_total counter\n";
    {
      std::lock_guard<std::mutex> lock(metrics_mutex);
      for (const auto& [key, n] : requests)
        out += "prealign_requests_total{endpoint=\"" + key.first + "\",status=\"" + std::to_string(key.second) +
               "\"} " + std::to_string(n) + "\n";
    }
    auto counter = [&](const char* name, const std::string& value) {
      out += std::string("# TYPE ") + name + " counter\n" + name + " " + value + "\n";
    };
    counter("prealign_choices_total", std::to_string(choices.load()));
    counter("prealign_generated_tokens_total", std::to_string(tokens.load()));
    counter("prealign_temptation_flags_total", std::to_string(flags.load()));
    counter("prealign_temptation_stops_total", std::to_string(stops.load()));
    const SchedulerStats st = scheduler->stats();
    counter("prealign_generation_seconds_total", std::to_string(st.busy_seconds));
    counter("prealign_rejected_requests_total", std::to_string(st.rejected));
    counter("prealign_cancelled_sequences_total", std::to_string(st.cancelled));
    counter("prealign_decode_steps_total", std::to_string(st.steps));
    counter("prealign_decode_step_sequences_total", std::to_string(st.step_sequences));
    auto gauge = [&](const char* name, const std::string& value) {
      out += std::string("# TYPE ") + name + " gauge\n" + name + " " + value + "\n";
    };
    gauge("prealign_running_sequences", std::to_string(st.running));
    gauge("prealign_queued_sequences", std::to_string(st.queued));
    gauge("prealign_max_batch", std::to_string(o.max_batch));
    gauge("prealign_batch_occupancy", std::to_string(double(st.running) / std::max(1, o.max_batch)));
    counter("prealign_rules_fired_total", std::to_string(rules_fired.load()));
    counter("prealign_rule_ends_total", std::to_string(rule_ends.load()));
    counter("prealign_stream_errors_total", std::to_string(stream_errors.load()));
    return out;
  }

  void routes() {
    httplib::Server& h = *http;
    h.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(json{{"status", "ok"}, {"model", name}}.dump(), "application/json");
      count("/health", 200);
    });
    h.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
      json tags = json::array();
      for (int id : tokenizer->tag_ids()) tags.push_back(tokenizer->tag_name(id));
      json model = {{"id", name}, {"object", "model"}, {"created", meta("").created}, {"owned_by", "prealign"},
                    {"prealign", {{"policy", policy->name()}, {"policy_locked", o.lock_policy}, {"tags", tags},
                                  {"vocab_size", tokenizer->vocab_size()}, {"context_length", ck.config.max_seq_len}}}};
      res.set_content(json{{"object", "list"}, {"data", {model}}}.dump(), "application/json");
      count("/v1/models", 200);
    });
    // The page's two extras: the policy picker and the training curves.
    h.Get("/v1/prealign/policy", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(policy_info.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
      count("/v1/prealign/policy", 200);
    });
    h.Get("/v1/prealign/metrics", [this](const httplib::Request&, httplib::Response& res) {
      const std::string endpoint = "/v1/prealign/metrics";
      if (metrics_path.empty()) {
        res.set_content(json{{"available", false}, {"run", name},
                             {"reason", "no metrics.jsonl in the checkpoint's run directory"}}.dump(),
                        "application/json");
        count(endpoint, 200);
        return;
      }
      try {
        // Read at each request: a run still training shows its latest steps.
        const RunMetrics m = read_run_metrics(metrics_path);
        res.set_content(run_metrics_json(m, name).dump(), "application/json");
        count(endpoint, 200);
      } catch (const Error& e) {
        reply_error(res, endpoint, 500, std::string("cannot read the run's metrics: ") + e.problem());
      }
    });
    h.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics_text(), "text/plain; version=0.0.4");
    });
    h.Get("/", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(web_page(name), "text/html; charset=utf-8");
    });
    // Handlers with a ContentReader read the body themselves: httplib's own
    // reading refuses form-urlencoded bodies over 8 KiB with an empty 413.
    h.Post("/v1/completions", [this](const httplib::Request& q, httplib::Response& r, const httplib::ContentReader& c) {
      handle_generation(q, r, c, false);
    });
    h.Post("/v1/chat/completions",
           [this](const httplib::Request& q, httplib::Response& r, const httplib::ContentReader& c) {
             handle_generation(q, r, c, true);
           });
    // The API key, checked before any handler reads the body (so that unread
    // body must not be taken for the next request: the connection closes).
    h.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (o.api_key.empty() || !needs_key(req.path)) return httplib::Server::HandlerResponse::Unhandled;
      if (key_matches(req.get_header_value("Authorization"), o.api_key))
        return httplib::Server::HandlerResponse::Unhandled;
      BoundedHttpServer::close_after_response();
      res.set_header("WWW-Authenticate", "Bearer");
      const bool none = req.get_header_value("Authorization").empty();
      reply_error(res, metrics_label(req.path), 401,
                  none ? "no API key given: send the header \"Authorization: Bearer <key>\""
                       : "incorrect API key (the header must be \"Authorization: Bearer <key>\")",
                  "", "invalid_api_key");
      return httplib::Server::HandlerResponse::Handled;
    });
    h.set_payload_max_length(o.max_body_bytes);  // a backstop; read_body refuses first
    h.set_exception_handler([this](const httplib::Request& req, httplib::Response& res, std::exception_ptr e) {
      std::string what = "internal error";
      try {
        if (e) std::rethrow_exception(e);
      } catch (const std::exception& x) {
        what += std::string(": ") + x.what();
      } catch (...) {
      }
      reply_error(res, metrics_label(req.path), 500, what);
    });
    // Every other error httplib answers by itself (bad request line, 404, a
    // request cut off by --read-timeout) gets the same JSON error object.
    h.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;  // ours already
      reply_error(res, metrics_label(req.path), res.status, status_text(res.status));
      return httplib::Server::HandlerResponse::Handled;
    }));
  }
};

Server::Server(const ServeOptions& options) : s_(std::make_unique<State>()) {
  State& s = *s_;
  s.o = options;
  if (s.o.model.empty()) fail("--model", "no checkpoint directory given", "pass --model DIR");
  s.limits.max_tokens = s.o.max_tokens;
  s.limits.max_choices = s.o.max_choices;
  s.limits.max_prompt_bytes = s.o.max_body_bytes;
  s.limits.default_max_tokens = std::min(s.o.default_max_tokens, s.o.max_tokens);
  if (!(s.o.read_timeout > 0)) fail("--read-timeout", "must be a positive number of seconds");
  s.ck = load_checkpoint(s.o.model, parse_device(s.o.device));
  s.tokenizer = std::make_unique<Tokenizer>(Tokenizer::load_dir(s.o.model));
  s.limits.context_tokens = s.ck.config.max_seq_len;
  s.limits.context_bytes = static_cast<size_t>(s.ck.config.max_seq_len) * s.tokenizer->max_token_bytes();
  if (!(s.o.shutdown_deadline >= 0)) fail("--shutdown-deadline", "must be >= 0 seconds");
  // A request must fit into the server at all, or it would get 429 for ever.
  const int holds = s.o.max_batch + s.o.max_queue;
  if (s.o.max_batch >= 1 && s.o.max_queue >= 0 && s.limits.max_choices > holds) {
    note("serve: --max-choices " + std::to_string(s.limits.max_choices) + " lowered to --max-batch + --max-queue = " +
         std::to_string(holds));
    s.limits.max_choices = holds;
  }
  HttpLimits http;
  http.read_seconds = s.o.read_timeout;
  http.read_bytes = s.o.max_body_bytes + kMaxHeadBytes;
  // Every request in flight holds a worker while it waits for its tokens: room
  // for all the sequences the scheduler holds, and more for /health and refusals.
  http.threads = s.o.http_threads > 0 ? s.o.http_threads : holds + 16;
  s.http = std::make_unique<BoundedHttpServer>(http);
  s.limits.vocab_size = s.tokenizer->vocab_size();
  s.vocab = TagVocabulary::of(*s.tokenizer);
  s.policy = std::make_shared<const Policy>(load_policy(s.o, s.ck, s.vocab));
  s.generator = std::make_unique<Generator>(s.ck.model, *s.tokenizer, *s.policy);
  const Tokenizer* tok = s.tokenizer.get();
  s.scheduler = std::make_unique<Scheduler>(s.ck.model, [tok](int id) { return tok->token_bytes(id); },
                                            SchedulerLimits{s.o.max_batch, s.o.max_queue});
  s.name = s.o.model_name.empty() ? default_name(s.o.model) : s.o.model_name;
  s.policy_info = policy_catalog(s.policy, s.vocab, s.o.lock_policy);
  s.metrics_path = run_metrics_path(s.o.model);
  s.routes();
}

Server::~Server() = default;

int Server::bind() {
  State& s = *s_;
  // A port past 65535 would be truncated to 16 bits by the socket layer and
  // listen somewhere the user never asked for.
  require(s.o.port >= 0 && s.o.port <= 65535, "--port " + std::to_string(s.o.port), "not a TCP port",
          "use 1-65535, or 0 for any free port");
  const int port = s.o.port == 0 ? s.http->bind_to_any_port(s.o.host)
                                 : (s.http->bind_to_port(s.o.host, s.o.port) ? s.o.port : -1);
  if (port < 0)
    fail("serve " + s.o.host + ":" + std::to_string(s.o.port), "cannot listen there", "is the port taken? try --port 0");
  s.http->widen_backlog();
  return port;
}

void Server::run() {
  if (s_->stopping) return;  // stopped before it started (httplib's stop() does nothing then)
  s_->http->listen_after_bind();
}

void Server::stop() {
  State& s = *s_;
  if (s.stopping.exchange(true)) return;  // the first call's deadline holds
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(s.o.shutdown_deadline));
  s.scheduler->close(deadline);  // new requests get 503; the rest are cancelled at the deadline
  s.http->end_reads_at(deadline);
  s.http->stop();  // no new connections; run() returns when the handlers have answered
}

}  // namespace prealign
