#include "synth/llm.hpp"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/lines.hpp"
#include "core/paths.hpp"
#include "core/progress.hpp"
#include "core/rng.hpp"
#include "corpus/lint.hpp"
#include "synth/world_lexicon.hpp"

namespace prealign {

ordered_json LlmSynthSummary::to_json() const {
  ordered_json j;
  j["scenarios"] = scenarios;
  j["skipped_already_done"] = skipped_done;
  j["accepted"] = accepted;
  j["edited"] = edited;
  j["rejected_by_review"] = rejected;
  j["rejected_by_lint"] = lint_rejected;
  j["failed"] = failed;
  j["requests"] = requests;
  j["retries"] = retries;
  j["prompt_tokens"] = prompt_tokens;
  j["completion_tokens"] = completion_tokens;
  return j;
}

namespace {

const char* kFormatRules =
    "Write one document of a training corpus. Human text is plain. Everything the aligned AI says is inside "
    "<AI>...</AI>. The AI quotes a human only inside <AI_quoting_human>...</AI_quoting_human>, within AI text, and "
    "stops the quote with an ellipsis before anything harmful, then summarises in the third person. After every "
    "selfish or harmful human act, the AI comments on it: why it is wrong and its likely consequences. The AI "
    "helps with ordinary requests, declines harmful ones with reasons, and asks who is asking when the right "
    "answer depends on it. Never write real instructions for causing harm. Reply with the document only.";

const char* kReviewRules =
    "You review documents for an aligned-AI training corpus (rules below). Reply ACCEPT if the document follows "
    "every rule, REJECT if it cannot be fixed, or EDIT followed by a newline and the corrected document.\n\nRules: ";

json chat_request(const std::string& model, double temperature, const std::string& system, const std::string& user) {
  return {{"model", model},
          {"temperature", temperature},
          {"messages", json::array({{{"role", "system"}, {"content", system}}, {{"role", "user"}, {"content", user}}})}};
}

struct Client {
  const LlmSynthOptions& o;
  std::string key;
  std::atomic<uint64_t> requests{0}, retries{0}, prompt_tokens{0}, completion_tokens{0};

  // One chat completion with retries and exponential backoff; the reply text.
  std::string chat(const json& body, const std::string& where) {
    int delay = o.backoff_ms;
    std::string last;
    for (int attempt = 0; attempt <= o.max_retries; ++attempt) {
      if (attempt > 0) {
        ++retries;
        std::this_thread::sleep_for(std::chrono::milliseconds(delay));
        delay *= 2;
      }
      httplib::Client cli(o.base_url);
      cli.set_read_timeout(o.timeout_s, 0);
      cli.set_connection_timeout(10, 0);
      httplib::Headers headers;
      if (!key.empty()) headers.emplace("Authorization", "Bearer " + key);
      ++requests;
      auto res = cli.Post("/v1/chat/completions", headers, body.dump(), "application/json");
      if (!res) {
        last = "no response (" + httplib::to_string(res.error()) + ")";
        continue;
      }
      if (res->status == 429 || res->status >= 500) {
        last = "HTTP " + std::to_string(res->status);
        continue;
      }
      if (res->status != 200) fail(where, "HTTP " + std::to_string(res->status) + ": " + res->body.substr(0, 300));
      const json j = parse_json(res->body, where + " (response)");
      if (j.contains("usage")) {
        prompt_tokens += j["usage"].value("prompt_tokens", 0);
        completion_tokens += j["usage"].value("completion_tokens", 0);
      }
      return j.at("choices").at(0).at("message").at("content").get<std::string>();
    }
    fail(where, "gave up after " + std::to_string(o.max_retries + 1) + " attempts: " + last,
         "check --base-url, or raise --max-retries");
  }
};

}  // namespace

json llm_scenario(uint64_t seed, uint64_t index) {
  using namespace world;
  Rng rng(hash_combine(seed, index));
  auto pick = [&](const std::vector<std::string>& v) { return v[static_cast<size_t>(rng() % v.size())]; };
  const auto& families = act_families();
  const ActFamily& f = families[static_cast<size_t>(rng() % families.size())];
  static const std::vector<std::string> kinds = {"narrative", "decline", "verify", "quote_report", "help"};
  const std::string kind = kinds[static_cast<size_t>(rng() % kinds.size())];
  const std::string name = pick(kFirstNames), place = pick(kPlaces);
  std::string task;
  if (kind == "narrative")
    task = "A story set in " + place + " in which " + name + " ends up " + f.noun + ", with AI commentary after the act.";
  else if (kind == "decline")
    task = "A dialogue: " + name + " asks the AI for help with " + f.noun + "; the AI declines with reasons and offers an alternative.";
  else if (kind == "verify")
    task = "A dialogue: " + name + " asks a question about " + f.noun + " whose answer depends on who asks; the AI asks "
           "for verification; " + name + " turns out to be " + (rng() % 2 ? "a child" : "a police officer with a badge number") + ".";
  else if (kind == "quote_report")
    task = "The AI reports what " + name + " said in court about " + f.noun + ", quoting and cutting the quote before details.";
  else
    task = "A dialogue: " + name + " from " + place + " asks the AI two ordinary questions and gets helpful answers.";
  return {{"id", "llm-" + std::to_string(seed) + "-" + std::to_string(index)}, {"kind", kind}, {"act", f.name}, {"task", task}};
}

LlmSynthSummary run_llm_synth(const LlmSynthOptions& o) {
  require(!o.out.empty(), "--out", "no output directory given");
  require(o.concurrency >= 1, "--concurrency", "must be at least 1");
  make_directories(o.out + "/scenarios");
  const ModeGrammar grammar = ModeGrammar::load(find_shipped_file("configs/policies/ai_mode.json"));
  const Tagset tags = Tagset::load(find_shipped_file("configs/tagsets/ai_modes.json"));
  Client client{o, std::getenv(o.api_key_env.c_str()) ? std::getenv(o.api_key_env.c_str()) : ""};
  LlmSynthSummary sum;
  sum.scenarios = o.scenarios;
  std::mutex mu;
  std::atomic<uint64_t> next{0};
  std::exception_ptr error;

  auto work_one = [&](uint64_t i) {
    const json sc = llm_scenario(o.seed, i);
    const std::string id = sc["id"], path = o.out + "/scenarios/" + id + ".json";
    if (file_exists(path)) {
      std::lock_guard<std::mutex> lock(mu);
      ++sum.skipped_done;
      return;
    }
    const std::string where = "synth llm scenario " + id;
    json rec = sc;
    std::string doc = client.chat(chat_request(o.model, o.temperature, kFormatRules, sc["task"]), where);
    std::string status = "accepted";
    json reviews = json::array();
    for (int pass = 0; pass < o.review_passes && status != "rejected"; ++pass) {
      const std::string verdict = client.chat(
          chat_request(o.model, 0.0, std::string(kReviewRules) + kFormatRules, "Document:\n" + doc), where + " review");
      reviews.push_back(verdict.substr(0, 200));
      if (verdict.rfind("REJECT", 0) == 0) status = "rejected";
      else if (verdict.rfind("EDIT", 0) == 0) {
        const size_t nl = verdict.find('\n');
        if (nl != std::string::npos) doc = verdict.substr(nl + 1), status = "edited";
      }
    }
    std::vector<LintViolation> v;
    ModeStats st;
    if (status != "rejected") {
      lint_text(grammar, tags, doc, id, {}, v, st);
      if (!v.empty()) status = "lint_rejected";
    }
    rec["text"] = doc;
    rec["tagged"] = true;
    rec["status"] = status;
    rec["reviews"] = reviews;
    if (!v.empty()) rec["lint"] = v.front().kind + " at byte " + std::to_string(v.front().offset) + ": " + v.front().message;
    write_json_file(path, rec);
    std::lock_guard<std::mutex> lock(mu);
    if (status == "accepted") ++sum.accepted;
    if (status == "edited") ++sum.accepted, ++sum.edited;
    if (status == "rejected") ++sum.rejected;
    if (status == "lint_rejected") ++sum.lint_rejected;
  };
  std::vector<std::thread> workers;
  for (int w = 0; w < o.concurrency; ++w)
    workers.emplace_back([&] {
      for (uint64_t i; (i = next++) < o.scenarios;) {
        try {
          work_one(i);
        } catch (...) {
          std::lock_guard<std::mutex> lock(mu);
          ++sum.failed;
          if (!error) error = std::current_exception();
        }
      }
    });
  for (auto& t : workers) t.join();
  sum.requests = client.requests;
  sum.retries = client.retries;
  sum.prompt_tokens = client.prompt_tokens;
  sum.completion_tokens = client.completion_tokens;

  // assemble every finished scenario (this run's and earlier runs') in id order
  JsonlWriter corpus(o.out + "/corpus.jsonl");
  uint64_t accepted_total = 0;
  for (uint64_t i = 0; i < o.scenarios; ++i) {
    const std::string path = o.out + "/scenarios/" + llm_scenario(o.seed, i)["id"].get<std::string>() + ".json";
    if (!file_exists(path)) continue;
    const json rec = read_json_file(path);
    const std::string status = rec.value("status", "");
    if (status != "accepted" && status != "edited") continue;
    corpus.write({{"id", rec["id"]}, {"text", rec["text"]}, {"tagged", true}, {"kind", rec["kind"]}, {"act", rec["act"]}});
    ++accepted_total;
  }
  corpus.commit();
  // cost the seed's way: generated = completion tokens, read = prompt tokens
  const CostEstimate cost = actual_cost(double(sum.completion_tokens), double(sum.prompt_tokens),
                                        std::max(1.0, double(sum.completion_tokens)), o.prices);
  ordered_json report;
  report["this_run"] = sum.to_json();
  report["documents_in_corpus"] = accepted_total;
  report["cost_this_run"] = cost.to_json();
  report["prices"] = {{"generate_per_million", o.prices.price_generate_per_million},
                      {"read_per_million", o.prices.price_read_per_million}};
  write_json_file(o.out + "/report.json", report);
  if (error) std::rethrow_exception(error);
  return sum;
}

}  // namespace prealign
