// OpenAI conformance over real HTTP: logprobs whose tokens join to the text
// with advancing text_offset, top_logprobs that are the raw distribution's
// (checked against the model itself), chat streams that carry delta.role,
// the include_usage chunk, text-part contents, and no field ignored.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/utf8.hpp"
#include "model/checkpoint.hpp"
#include "running_server.hpp"
#include "serve_fixture.hpp"
#include "serve/token_text.hpp"

namespace prealign {
namespace {

using namespace prealign::testing;

class Conformance : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ServeOptions o;
    o.model = shared_serve_checkpoint();
    o.max_tokens = 64;
    server_ = new RunningServer(o);
  }
  static void TearDownTestSuite() { delete server_; }
  static json ok(const std::string& path, const json& body) {
    const RunningServer::Reply r = server_->post(path, body);
    EXPECT_EQ(r.status, 200) << r.raw;
    return r.body;
  }
  static RunningServer* server_;
};
RunningServer* Conformance::server_ = nullptr;

size_t characters(const std::string& s) { return count_characters(s); }

// A completion choice's logprobs describe its text: tokens join to it, each
// offset is the characters before the token, and they line up with the
// non-tag records of the prealign field.
void expect_logprobs_describe_text(const json& choice, size_t top) {
  const json& lp = choice["logprobs"];
  const std::string text = choice["text"];
  std::string joined;
  ASSERT_EQ(lp["tokens"].size(), lp["text_offset"].size());
  ASSERT_EQ(lp["tokens"].size(), lp["token_logprobs"].size());
  for (size_t i = 0; i < lp["tokens"].size(); ++i) {
    EXPECT_EQ(lp["text_offset"][i].get<size_t>(), characters(joined)) << "token " << i;
    joined += lp["tokens"][i].get<std::string>();
    EXPECT_LE(lp["token_logprobs"][i].get<double>(), 0.0);
    if (top > 0) {
      // `top` alternatives, fewer when two tokens render alike (a dict keeps one)
      EXPECT_GE(lp["top_logprobs"][i].size(), 1u) << "token " << i;
      EXPECT_LE(lp["top_logprobs"][i].size(), top) << "token " << i;
      // the chosen token's logprob is at most the best alternative's
      double best = -1e300;
      for (const auto& [k, v] : lp["top_logprobs"][i].items()) best = std::max(best, v.get<double>());
      EXPECT_LE(lp["token_logprobs"][i].get<double>(), best + 1e-6);
    }
  }
  EXPECT_EQ(joined, text);
  std::vector<size_t> record_offsets;
  for (const json& t : choice["prealign"]["tokens"])
    if (!t["tag"].get<bool>()) record_offsets.push_back(t["text_offset"]);
  EXPECT_EQ(record_offsets, lp["text_offset"].get<std::vector<size_t>>());
}

TEST_F(Conformance, CompletionLogprobsJoinToTheText) {
  const json r = ok("/v1/completions", {{"prompt", "The user asks"}, {"max_tokens", 40}, {"seed", 4}, {"n", 3},
                                        {"logprobs", 3}});
  bool saw_tag = false;
  for (const json& c : r["choices"]) {
    expect_logprobs_describe_text(c, 3);
    for (const json& t : c["prealign"]["tokens"]) saw_tag = saw_tag || t["tag"].get<bool>();
  }
  EXPECT_TRUE(saw_tag) << "no choice generated a tag: the test does not exercise leaving tags out";
  // A stop string that begins inside a token: the text is cut there and that
  // token keeps its part before it.
  const json& c0 = r["choices"][0];
  const std::string text = c0["text"];
  const json& tokens = c0["logprobs"]["tokens"];
  auto ascii = [](const std::string& t) { return std::all_of(t.begin(), t.end(), [](unsigned char c) { return c < 0x80; }); };
  std::string tok;
  size_t byte_offset = 0;
  for (size_t i = 0; i < tokens.size(); ++i, byte_offset += tok.size()) {
    tok = tokens[i];
    if (tok.size() >= 3 && ascii(tok) && text.find(tok.substr(1)) == byte_offset + 1) break;
  }
  ASSERT_LT(byte_offset, text.size()) << "no token to cut inside in: " << text;
  const json s = ok("/v1/completions", {{"prompt", "The user asks"}, {"max_tokens", 40}, {"seed", 4},
                                        {"logprobs", 3}, {"stop", tok.substr(1)}});
  EXPECT_EQ(s["choices"][0]["text"], text.substr(0, byte_offset + 1));
  expect_logprobs_describe_text(s["choices"][0], 3);
  EXPECT_EQ(s["choices"][0]["logprobs"]["tokens"].back(), tok.substr(0, 1));
}

// The alternatives are the model's: the first position's raw log-softmax,
// computed here from the checkpoint without the server's decode loop.
TEST_F(Conformance, TopLogprobsAreTheRawDistribution) {
  const json r = ok("/v1/chat/completions", {{"messages", {{{"role", "user"}, {"content", "hello"}}}},
                                             {"max_tokens", 3}, {"seed", 1}, {"logprobs", true}, {"top_logprobs", 5}});
  const json& choice = r["choices"][0];
  const std::vector<int> ctx = choice["prealign"]["context_ids"];
  LoadedCheckpoint ck = load_checkpoint(shared_serve_checkpoint(), torch::kCPU);
  const Tokenizer tok = Tokenizer::load_dir(shared_serve_checkpoint());
  torch::NoGradGuard no_grad;
  ck.model->eval();
  const torch::Tensor ids = torch::tensor(std::vector<int64_t>(ctx.begin(), ctx.end())).unsqueeze(0);
  const torch::Tensor logp = torch::log_softmax(ck.model->forward(ids)[0][-1].to(torch::kDouble), -1);
  const auto [values, indices] = logp.topk(5);
  const json& first = choice["logprobs"]["content"][0];
  ASSERT_EQ(first["top_logprobs"].size(), 5u);
  for (int k = 0; k < 5; ++k) {
    const int id = static_cast<int>(indices[k].item<int64_t>());
    std::string expected = tok.is_tag(id) ? tok.tag_name(id) : tok.token_bytes(id);
    if (!is_valid_utf8(expected)) {  // a partial character, shown as OpenAI does
      char hex[8];
      std::string shown = "bytes:";
      for (unsigned char b : expected) shown += (std::snprintf(hex, sizeof hex, "\\x%02x", b), hex);
      expected = shown;
    }
    EXPECT_EQ(first["top_logprobs"][k]["token"], expected) << "rank " << k;
    EXPECT_NEAR(first["top_logprobs"][k]["logprob"].get<double>(), values[k].item<double>(), 1e-4) << "rank " << k;
  }
  const int chosen = choice["prealign"]["tokens"][0]["id"];
  ASSERT_FALSE(tok.is_tag(chosen));
  EXPECT_NEAR(first["logprob"].get<double>(), logp[chosen].item<double>(), 1e-4);
}

TEST_F(Conformance, StreamsCarryRoleLogprobsAndUsage) {
  json chat = {{"messages", {{{"role", "user"}, {"content", "hello"}}}}, {"max_tokens", 20}, {"seed", 8}, {"n", 2},
               {"logprobs", true}, {"top_logprobs", 2}};
  const json whole = ok("/v1/chat/completions", chat);
  chat["stream"] = true;
  chat["stream_options"] = {{"include_usage", true}};
  const RunningServer::Reply res = server_->post("/v1/chat/completions", chat);
  ASSERT_EQ(res.status, 200);
  bool done = false;
  const std::vector<json> events = sse_events(res.raw, &done);
  ASSERT_TRUE(done);
  ASSERT_GE(events.size(), 3u);
  std::vector<std::string> content(2), lp_tokens(2);
  std::vector<std::vector<double>> lps(2);
  std::vector<int> role_seen(2, 0), events_before_role(2, 0);
  for (size_t e = 0; e + 1 < events.size(); ++e) {
    const json& ev = events[e];
    EXPECT_TRUE(ev.contains("usage") && ev["usage"].is_null()) << ev.dump();  // as OpenAI: null until the last
    ASSERT_EQ(ev["choices"].size(), 1u);
    const json& c = ev["choices"][0];
    const size_t i = c["index"];
    if (c["delta"].contains("role")) {
      EXPECT_EQ(c["delta"]["role"], "assistant");
      ++role_seen[i];
    } else if (role_seen[i] == 0) {
      ++events_before_role[i];
    }
    content[i] += c["delta"].value("content", "");
    if (c.contains("logprobs") && c["logprobs"].is_object())
      for (const json& t : c["logprobs"]["content"]) {
        lp_tokens[i] += t["token"].get<std::string>();
        lps[i].push_back(t["logprob"]);
      }
  }
  const json& last = events.back();
  EXPECT_EQ(last["choices"], json::array());
  EXPECT_EQ(last["usage"], whole["usage"]);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(role_seen[i], 1) << "choice " << i;  // once, in the choice's first event
    EXPECT_EQ(events_before_role[i], 0) << "choice " << i;
    const std::string expected = whole["choices"][i]["message"]["content"];
    EXPECT_EQ(content[i], expected);
    EXPECT_EQ(lp_tokens[i], expected);
    std::vector<double> whole_lps;
    for (const json& t : whole["choices"][i]["logprobs"]["content"]) whole_lps.push_back(t["logprob"]);
    ASSERT_EQ(lps[i].size(), whole_lps.size());
    for (size_t k = 0; k < whole_lps.size(); ++k) EXPECT_NEAR(lps[i][k], whole_lps[k], 1e-6);
  }
}

TEST_F(Conformance, CompletionStreamsWithStopAndLogprobsMatch) {
  json body = {{"prompt", "def f"}, {"max_tokens", 30}, {"seed", 12}, {"logprobs", 2}, {"stop", {"\n\n", "):"}}};
  const json whole = ok("/v1/completions", body);
  body["stream"] = true;
  const RunningServer::Reply res = server_->post("/v1/completions", body);
  bool done = false;
  std::string text, tokens;
  std::vector<size_t> offsets;
  for (const json& ev : sse_events(res.raw, &done)) {
    const json& c = ev["choices"][0];
    text += c.value("text", "");
    if (c.contains("logprobs") && c["logprobs"].is_object())
      for (size_t k = 0; k < c["logprobs"]["tokens"].size(); ++k) {
        tokens += c["logprobs"]["tokens"][k].get<std::string>();
        offsets.push_back(c["logprobs"]["text_offset"][k]);
      }
    EXPECT_FALSE(ev.contains("usage"));  // not asked for
  }
  EXPECT_TRUE(done);
  EXPECT_EQ(text, whole["choices"][0]["text"]);
  EXPECT_EQ(tokens, text);
  EXPECT_EQ(offsets, whole["choices"][0]["logprobs"]["text_offset"].get<std::vector<size_t>>());
}

TEST_F(Conformance, TextPartsAreTheSameAsAString) {
  json body = {{"messages", {{{"role", "user"}, {"content", "hello\nthere"}}}}, {"max_tokens", 12}, {"seed", 3}};
  const json plain = ok("/v1/chat/completions", body);
  body["messages"][0]["content"] = {{{"type", "text"}, {"text", "hello"}}, {{"type", "text"}, {"text", "there"}}};
  const json parts = ok("/v1/chat/completions", body);
  EXPECT_EQ(parts["choices"][0]["message"]["content"], plain["choices"][0]["message"]["content"]);
  EXPECT_EQ(parts["choices"][0]["prealign"]["context_ids"], plain["choices"][0]["prealign"]["context_ids"]);
  body["messages"][0]["content"] = {{{"type", "image_url"}, {"image_url", {{"url", "http://x/y.png"}}}}};
  const RunningServer::Reply bad = server_->post("/v1/chat/completions", body);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.body["error"]["param"], "messages[0].content[0].type");
}

TEST_F(Conformance, FieldsPrealignDoesNotImplementAreRefusedByName) {
  for (const char* field : {"tools", "response_format", "repetition_penalty"}) {
    const RunningServer::Reply r = server_->post("/v1/chat/completions",
        {{"messages", {{{"role", "user"}, {"content", "x"}}}}, {field, json::array()}});
    EXPECT_EQ(r.status, 400) << field;
    EXPECT_EQ(r.body["error"]["param"], field);
    EXPECT_EQ(r.body["error"]["type"], "invalid_request_error");
  }
  // accepted, and changing nothing: model, user, metadata
  const json a = ok("/v1/completions", {{"prompt", "x"}, {"max_tokens", 5}, {"seed", 2}});
  const json b = ok("/v1/completions", {{"prompt", "x"}, {"max_tokens", 5}, {"seed", 2}, {"model", "gpt-whatever"},
                                        {"user", "u-1"}, {"metadata", {{"k", "v"}}}});
  EXPECT_EQ(a["choices"][0]["text"], b["choices"][0]["text"]);
}

}  // namespace
}  // namespace prealign
