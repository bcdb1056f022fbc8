// synth llm end to end against a local OpenAI-compatible server started here:
// generation, review verdicts (accept, edit, reject), lint as the gate, a retry
// after a 500, token accounting, and a rerun that sends no request at all.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/files.hpp"
#include "core/json_io.hpp"
#include "core/lines.hpp"
#include "synth/llm.hpp"
#include "test_util.hpp"

namespace prealign {
namespace {

struct FakeEndpoint {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::atomic<int> calls{0};
  FakeEndpoint() {
    server.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
      const int n = ++calls;
      if (n == 1) {  // the first request fails: the client must retry
        res.status = 500;
        return;
      }
      const json body = json::parse(req.body);
      const std::string user = body["messages"][1]["content"];
      std::string reply;
      if (user.rfind("Document:", 0) == 0) {  // a review pass
        if (user.find("EDITME") != std::string::npos)
          reply = "EDIT\nShe lied. <AI>Lying to her friend was unfair.</AI>";
        else if (user.find("REJECTME") != std::string::npos)
          reply = "REJECT";
        else
          reply = "ACCEPT";
      } else {  // a generation: the scenario kind decides what comes back
        if (user.find("ordinary questions") != std::string::npos)
          reply = "Ana: What is 2 plus 2?\n<AI>2 plus 2 is 4.</AI>";
        else if (user.find("in court") != std::string::npos)
          reply = "<AI>He said \"<AI_quoting_human>First you</AI>";  // broken tags: lint must reject
        else if (user.find("declines") != std::string::npos)
          reply = "REJECTME";
        else
          reply = "EDITME";
      }
      res.set_content(json({{"choices", {{{"message", {{"role", "assistant"}, {"content", reply}}}}}},
                            {"usage", {{"prompt_tokens", 100}, {"completion_tokens", 10}}}})
                          .dump(),
                      "application/json");
    });
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeEndpoint() {
    server.stop();
    thread.join();
  }
};

TEST(SynthLlm, EndToEndWithReviewLintRetriesAndResume) {
  FakeEndpoint fake;
  LlmSynthOptions o;
  o.base_url = "http://127.0.0.1:" + std::to_string(fake.port);
  o.out = testing::temp_dir();
  o.scenarios = 12;
  o.concurrency = 3;
  o.backoff_ms = 10;
  const LlmSynthSummary s = run_llm_synth(o);
  EXPECT_EQ(s.failed, 0u);
  EXPECT_EQ(s.retries, 1u);
  EXPECT_EQ(s.requests, 12u * 2 + 1);  // one generation and one review per scenario, plus the retried one
  EXPECT_EQ(s.prompt_tokens, 12u * 2 * 100);
  EXPECT_EQ(s.completion_tokens, 12u * 2 * 10);
  EXPECT_EQ(s.accepted + s.rejected + s.lint_rejected, 12u);

  // expected outcome per scenario, from the kinds the scenario generator chose
  uint64_t want_accepted = 0, want_rejected = 0, want_lint = 0, want_edited = 0;
  for (uint64_t i = 0; i < 12; ++i) {
    const std::string kind = llm_scenario(o.seed, i)["kind"];
    if (kind == "help") ++want_accepted;
    else if (kind == "quote_report") ++want_lint;
    else if (kind == "decline") ++want_rejected;
    else ++want_accepted, ++want_edited;
  }
  EXPECT_EQ(s.accepted, want_accepted);
  EXPECT_EQ(s.edited, want_edited);
  EXPECT_EQ(s.rejected, want_rejected);
  EXPECT_EQ(s.lint_rejected, want_lint);

  uint64_t lines = 0;
  LineReader in(o.out + "/corpus.jsonl");
  std::string line;
  while (in.next(line)) {
    const json r = json::parse(line);
    EXPECT_TRUE(r["tagged"].get<bool>());
    EXPECT_EQ(r["text"].get<std::string>().find("First you"), std::string::npos);  // lint kept it out
    ++lines;
  }
  EXPECT_EQ(lines, want_accepted);
  const json report = read_json_file(o.out + "/report.json");
  // 240 completion tokens at $7.50/M + 2400 prompt tokens at $2.50/M
  EXPECT_NEAR(report["cost_this_run"]["total_usd"].get<double>(), 240 * 7.5e-6 + 2400 * 2.5e-6, 1e-12);

  // a rerun finds every scenario done and sends nothing
  const int before = fake.calls;
  const std::string corpus = read_file(o.out + "/corpus.jsonl");
  const LlmSynthSummary again = run_llm_synth(o);
  EXPECT_EQ(fake.calls.load(), before);
  EXPECT_EQ(again.skipped_done, 12u);
  EXPECT_EQ(again.requests, 0u);
  EXPECT_EQ(read_file(o.out + "/corpus.jsonl"), corpus);
}

}  // namespace
}  // namespace prealign
