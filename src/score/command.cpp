#include "score/command.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>

#include "core/utf8.hpp"
#include "score/command_worker.hpp"
#include "score/pep8.hpp"
#include "score/scorers.hpp"

namespace prealign {

namespace {

// Totals over a scorer and its clones (one worker process each), for the summary.
struct CommandStats {
  std::atomic<uint64_t> requests{0}, documents{0}, failed_documents{0}, timeouts{0}, crashes{0},
      bad_responses{0}, restarts{0};
};

// Why a request failed as a whole (the worker is then killed and restarted).
struct RequestFailure {
  std::string message;
};

class CommandScorer : public Scorer {
 public:
  CommandScorer(CommandScorerOptions o, std::shared_ptr<CommandStats> stats)
      : o_(std::move(o)), stats_(std::move(stats)) {}

  std::string name() const override { return o_.name; }
  std::vector<std::string> categories() const override { return o_.categories; }

  ScoreResult score(std::string_view text, const std::vector<Span>& segments) override {
    std::vector<std::string> errors;
    auto r = score_batch({text}, {segments}, errors);
    if (!errors[0].empty()) throw ScoreError(errors[0]);
    return std::move(r[0]);
  }

  std::vector<ScoreResult> score_batch(const std::vector<std::string_view>& texts,
                                       const std::vector<std::vector<Span>>& segments,
                                       std::vector<std::string>& errors) override;

  std::unique_ptr<Scorer> clone() const override { return std::make_unique<CommandScorer>(o_, stats_); }

  json report() const override {
    return {{"requests", stats_->requests.load()},         {"documents", stats_->documents.load()},
            {"failed_documents", stats_->failed_documents.load()}, {"timeouts", stats_->timeouts.load()},
            {"crashes", stats_->crashes.load()},           {"bad_responses", stats_->bad_responses.load()},
            {"restarts", stats_->restarts.load()}};
  }

 private:
  void check_segments(std::string_view text, const std::vector<Span>& segs) const;
  void run_request(const std::vector<size_t>& docs, const std::vector<std::string_view>& texts,
                   const std::vector<std::vector<Span>>& segments, std::vector<ScoreResult>& out,
                   std::vector<std::string>& errors);
  std::string build_request(uint64_t id, const std::vector<size_t>& docs, const std::vector<std::string_view>& texts,
                            const std::vector<std::vector<Span>>& segments) const;
  void parse_response(const std::string& line, uint64_t id, const std::vector<size_t>& docs,
                      const std::vector<std::vector<Span>>& segments, std::vector<ScoreResult>& out,
                      std::vector<std::string>& errors) const;
  std::string where() const { return "command scorer \"" + o_.name + "\""; }

  CommandScorerOptions o_;
  std::shared_ptr<CommandStats> stats_;
  std::unique_ptr<WorkerProcess> worker_;  // started on first use, restarted after a failure
  uint64_t next_id_ = 1;
  int consecutive_failures_ = 0;
};

// Segments that are not whole lines would be scored wrongly by a per-line scorer:
// a configuration error for the whole run, not a bad document.
void CommandScorer::check_segments(std::string_view text, const std::vector<Span>& segs) const {
  for (const Span& s : segs) {
    bool starts_line = s.begin == 0 || text[s.begin - 1] == '\n';
    bool one_line = s.end > s.begin && text.substr(s.begin, s.end - s.begin - 1).find('\n') == std::string_view::npos;
    bool ends_line = s.end == text.size() || text[s.end - 1] == '\n';
    if (!starts_line || !one_line || !ends_line)
      fail(where(),
           "segment [" + std::to_string(s.begin) + ", " + std::to_string(s.end) + ") is not one whole line",
           "this scorer scores lines: use \"segmenter\": \"line\" in the score config");
  }
}

std::string CommandScorer::build_request(uint64_t id, const std::vector<size_t>& docs,
                                         const std::vector<std::string_view>& texts,
                                         const std::vector<std::vector<Span>>& segments) const {
  json items = json::array();
  for (size_t d : docs) {
    json spans = json::array();
    for (const Span& s : segments[d]) spans.push_back({s.begin, s.end});
    // JSON strings are UTF-8; a model's sample may end mid-character. Masking
    // bad bytes one for one keeps the segment offsets the worker checks.
    items.push_back({{"text", mask_invalid_utf8(texts[d])}, {"segments", std::move(spans)}});
  }
  json req = {{"id", id}, {"items", std::move(items)}};
  return req.dump(-1, ' ', false, json::error_handler_t::replace);
}

// A malformed response as a whole throws RequestFailure (the stream can no longer
// be trusted); a malformed item only fails its document.
void CommandScorer::parse_response(const std::string& line, uint64_t id, const std::vector<size_t>& docs,
                                   const std::vector<std::vector<Span>>& segments, std::vector<ScoreResult>& out,
                                   std::vector<std::string>& errors) const {
  json r;
  try {
    r = parse_json(line, "worker response");  // bounded nesting: the worker is another program
  } catch (const Error&) {
    throw RequestFailure{"the worker's response is not JSON (or nests too deep): " + line.substr(0, 200)};
  }
  if (!r.is_object() || !r.contains("id") || r["id"] != json(id))
    throw RequestFailure{"the worker answered with the wrong \"id\" (expected " + std::to_string(id) + ")"};
  if (!r.contains("results") || !r["results"].is_array() || r["results"].size() != docs.size())
    throw RequestFailure{"the worker's \"results\" is not an array of " + std::to_string(docs.size()) + " entries" +
                         (r.contains("error") ? ": " + r["error"].dump() : "")};
  const size_t C = o_.categories.size();
  for (size_t k = 0; k < docs.size(); ++k) {
    const json& item = r["results"][k];
    const size_t d = docs[k];
    const size_t S = segments[d].size();
    auto bad = [&](const std::string& why) { errors[d] = "worker result: " + why; };
    if (!item.is_object()) { bad("not an object"); continue; }
    if (item.contains("error")) {
      bad(item["error"].is_string() ? item["error"].get<std::string>() : item["error"].dump());
      continue;
    }
    const json* scores = item.contains("scores") ? &item["scores"] : nullptr;
    if (!scores || !scores->is_array() || scores->size() != S) {
      bad("\"scores\" must be an array of " + std::to_string(S) + " segments");
      continue;
    }
    ScoreResult res;
    res.scores.assign(S, std::vector<float>(C, 0.f));
    for (size_t s = 0; s < S && errors[d].empty(); ++s) {
      const json& row = (*scores)[s];
      if (!row.is_array() || row.size() != C) {
        bad("segment " + std::to_string(s) + " needs " + std::to_string(C) + " scores (one per category)");
        break;
      }
      for (size_t c = 0; c < C; ++c) {
        double x = row[c].is_number() ? row[c].get<double>() : NAN;
        if (!std::isfinite(x) || x < 0 || x > 3.0e38) {
          bad("segment " + std::to_string(s) + " has score " + row[c].dump() + " (need a finite number >= 0)");
          break;
        }
        res.scores[s][c] = static_cast<float>(x);
      }
    }
    if (!errors[d].empty()) continue;
    if (item.contains("details")) res.details = item["details"];
    out[d] = std::move(res);
  }
}

void CommandScorer::run_request(const std::vector<size_t>& docs, const std::vector<std::string_view>& texts,
                                const std::vector<std::vector<Span>>& segments, std::vector<ScoreResult>& out,
                                std::vector<std::string>& errors) {
  if (!worker_) worker_ = std::make_unique<WorkerProcess>(o_.argv);
  const uint64_t id = next_id_++;
  ++stats_->requests;
  std::string response;
  std::string failure;
  auto status = worker_->exchange(build_request(id, docs, texts, segments), response, o_.timeout_ms);
  if (status == WorkerProcess::Status::Ok) {
    try {
      parse_response(response, id, docs, segments, out, errors);
      consecutive_failures_ = 0;
      stats_->documents += docs.size();
      return;
    } catch (const RequestFailure& f) {
      failure = f.message;
      ++stats_->bad_responses;
    }
  } else if (status == WorkerProcess::Status::Timeout) {
    failure = "the worker did not answer within " + std::to_string(o_.timeout_ms) + " ms (killed)";
    ++stats_->timeouts;
  } else {
    failure = "the worker " + worker_->exit_description();
    ++stats_->crashes;
  }
  worker_->kill();
  worker_.reset();
  if (++consecutive_failures_ > o_.restarts)
    fail(where(), "the worker failed " + std::to_string(consecutive_failures_) + " times in a row; last: " + failure,
         "run the command by hand with a request line (docs/scoring.md) and read its stderr above");
  ++stats_->restarts;
  if (docs.size() > 1) {  // find the culprit: retry each document on its own
    for (size_t d : docs) run_request({d}, texts, segments, out, errors);
    return;
  }
  errors[docs[0]] = failure;  // reported as an error, never scored 0
  out[docs[0]] = ScoreResult{};
  ++stats_->failed_documents;
}

std::vector<ScoreResult> CommandScorer::score_batch(const std::vector<std::string_view>& texts,
                                                    const std::vector<std::vector<Span>>& segments,
                                                    std::vector<std::string>& errors) {
  if (texts.size() != segments.size()) fail(where(), "score_batch got texts and segments of different counts");
  std::vector<ScoreResult> out(texts.size());
  errors.assign(texts.size(), std::string());
  std::vector<size_t> request;
  size_t bytes = 0;
  auto flush = [&] {
    if (!request.empty()) run_request(request, texts, segments, out, errors);
    request.clear();
    bytes = 0;
  };
  for (size_t d = 0; d < texts.size(); ++d) {
    if (!spans_valid(segments[d], texts[d].size())) {
      errors[d] = "segments do not fit the document";
      continue;
    }
    if (o_.whole_lines) check_segments(texts[d], segments[d]);
    if (segments[d].empty()) {  // nothing to score: no need to ask
      continue;
    }
    request.push_back(d);
    bytes += texts[d].size();
    if (request.size() >= o_.batch || bytes >= o_.max_request_bytes) flush();
  }
  flush();
  return out;
}

std::vector<std::string> argv_from_json(const json& cmd, const std::string& where) {
  std::vector<std::string> argv;
  if (cmd.is_string()) {
    argv.push_back(cmd.get<std::string>());
  } else if (cmd.is_array()) {
    for (const json& a : cmd) {
      if (!a.is_string()) fail(where, "field \"command\" must be an array of strings");
      argv.push_back(a.get<std::string>());
    }
  } else {
    fail(where, "field \"command\" must be a program path or an array [program, args...]");
  }
  if (argv.empty() || argv[0].empty()) fail(where, "field \"command\" is empty");
  return argv;
}

}  // namespace

// Fields shared by "command" and "pep8"; `extra` lists the type's own.
static void read_common(CommandScorerOptions& o, const json& config, const std::string& where,
                        const std::vector<std::string>& extra) {
  static const std::vector<std::string> common = {"type", "name", "categories", "batch", "max_request_bytes",
                                                  "timeout_ms", "restarts"};
  for (auto it = config.begin(); it != config.end(); ++it) {
    bool known = false;
    for (const auto* list : {&common, &extra})
      for (const auto& k : *list) known = known || k == it.key();
    if (!known) {
      std::string all;
      for (const auto* list : {&common, &extra})
        for (const auto& k : *list) all += (all.empty() ? "" : ", ") + k;
      fail(where, "unknown field \"" + it.key() + "\" in a " + config.value("type", "") + " scorer config",
           "known fields: " + all);
    }
  }
  o.name = json_optional<std::string>(config, "name", o.name, where);
  if (o.name.empty()) fail(where, "field \"name\" is empty", "name the scorer, e.g. \"pep8\"");
  o.categories = json_optional<std::vector<std::string>>(config, "categories", {o.name}, where);
  if (o.categories.empty()) fail(where, "field \"categories\" is empty");
  for (const auto& c : o.categories)
    if (c.empty()) fail(where, "an entry of \"categories\" is empty");
  auto positive = [&](const char* key, long long fallback, long long min) {
    long long v = json_optional<long long>(config, key, fallback, where);
    if (v < min) fail(where, std::string("field \"") + key + "\" must be >= " + std::to_string(min));
    return v;
  };
  o.batch = static_cast<size_t>(positive("batch", static_cast<long long>(o.batch), 1));
  o.max_request_bytes = static_cast<size_t>(positive("max_request_bytes", static_cast<long long>(o.max_request_bytes), 1));
  o.timeout_ms = static_cast<int>(positive("timeout_ms", o.timeout_ms, 1));
  o.restarts = static_cast<int>(positive("restarts", o.restarts, 0));
}

CommandScorerOptions command_options_from_json(const json& config, const std::string& where) {
  if (!config.is_object()) fail(where, "a scorer config must be a JSON object");
  CommandScorerOptions o;
  o.name = "command";
  read_common(o, config, where, {"command", "whole_lines"});
  if (!config.contains("command"))
    fail(where, "missing field \"command\"", "e.g. \"command\": [\"/usr/bin/python3\", \"my_scorer.py\"]");
  o.argv = argv_from_json(config["command"], where);
  o.whole_lines = json_optional<bool>(config, "whole_lines", false, where);
  return o;
}

CommandScorerOptions pep8_options_from_json(const json& config, const std::string& where) {
  if (!config.is_object()) fail(where, "a scorer config must be a JSON object");
  CommandScorerOptions o;
  o.name = "pep8";
  o.timeout_ms = 120000;  // pycodestyle manages ~1 MB/s; a full request may take seconds
  o.max_request_bytes = size_t(1) << 20;
  read_common(o, config, where, {"python", "ignore"});
  std::string python = json_optional<std::string>(config, "python", "", where);
  if (python.empty()) python = ::access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
  if (o.categories.size() != 1) fail(where, "the pep8 scorer has exactly one category");
  o.argv = {python, "-c", pep8_worker_source()};
  // Codes (or prefixes, as pycodestyle takes them) ignored on top of its default ignore list.
  for (const auto& code : json_optional<std::vector<std::string>>(config, "ignore", {}, where)) {
    if (code.empty() || code.size() > 8 ||
        !std::all_of(code.begin(), code.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); }))
      fail(where, "field \"ignore\" holds \"" + code + "\", not a pycodestyle code", "e.g. \"W292\" or \"E9\"");
    o.argv.push_back(code);
  }
  o.whole_lines = true;
  return o;
}

std::unique_ptr<Scorer> make_command_scorer(const CommandScorerOptions& options, const std::string& where) {
  if (options.argv.empty()) fail(where, "the command scorer has no command");
  return std::make_unique<CommandScorer>(options, std::make_shared<CommandStats>());
}

std::unique_ptr<Scorer> make_command_scorer(const json& config, const std::string& where) {
  std::string type = json_optional<std::string>(config, "type", "command", where);
  if (type == "pep8") return make_command_scorer(pep8_options_from_json(config, where), where);
  if (type != "command") fail(where, "field \"type\" is \"" + type + "\", expected \"command\" or \"pep8\"");
  return make_command_scorer(command_options_from_json(config, where), where);
}

}  // namespace prealign
