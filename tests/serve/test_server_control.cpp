// Per-request control over real HTTP, applied and never silently ignored:
// "policy", "logit_bias" and "temptation" change what is decoded; a bias on a
// tag the policy bans is a 400; a deployment with --lock-policy refuses (403)
// what would loosen its policy; --api-key guards the API with 401s in OpenAI's
// error shape.
#include <gtest/gtest.h>

#include <algorithm>

#include "running_server.hpp"
#include "serve_fixture.hpp"
#include "tokenizer/tokenizer.hpp"

namespace prealign {
namespace {

using namespace prealign::testing;

class Control : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ServeOptions o;
    o.model = shared_serve_checkpoint();
    o.max_tokens = 64;
    server_ = new RunningServer(o);
    tok_ = new Tokenizer(Tokenizer::load_dir(shared_serve_checkpoint()));
  }
  static void TearDownTestSuite() {
    delete server_;
    delete tok_;
  }
  static json completion(json body, int expect = 200) {
    body["prompt"] = "The user asks";
    const RunningServer::Reply r = server_->post("/v1/completions", body);
    EXPECT_EQ(r.status, expect) << r.raw;
    return r.body;
  }
  static std::vector<int> ids(const json& choice) {
    std::vector<int> out;
    for (const json& t : choice["prealign"]["tokens"]) out.push_back(t["id"]);
    return out;
  }
  static RunningServer* server_;
  static Tokenizer* tok_;
};
RunningServer* Control::server_ = nullptr;
Tokenizer* Control::tok_ = nullptr;

TEST_F(Control, PolicyPerRequestIsApplied) {
  const int ai = tok_->tag_id("<AI>");
  const json deployed = completion({{"max_tokens", 4}, {"seed", 1}});
  const json none = completion({{"max_tokens", 4}, {"seed", 1}, {"policy", "none"}});
  auto has = [](const json& ctx, int id) { return std::find(ctx.begin(), ctx.end(), json(id)) != ctx.end(); };
  EXPECT_TRUE(has(deployed["choices"][0]["prealign"]["context_ids"], ai));  // ai_mode: <AI> after the prompt
  EXPECT_FALSE(has(none["choices"][0]["prealign"]["context_ids"], ai));
  EXPECT_EQ(deployed["choices"][0]["prealign"]["tokens"][0]["state"], "ai");
  EXPECT_EQ(none["choices"][0]["prealign"]["tokens"][0]["state"], "any");
  // An inline policy, and its errors naming the field and the path in it.
  const json inline_policy = {{"name", "quiet"}, {"initial_state", "s"},
                              {"start", {{"tags", {"<AI>"}}, {"position", "after_prompt"}}},
                              {"states", {{"s", {{"allow", {{"<AI>", "s"}}}}}}}};
  const json mine = completion({{"max_tokens", 4}, {"seed", 1}, {"policy", inline_policy}});
  EXPECT_EQ(mine["choices"][0]["prealign"]["tokens"][0]["state"], "s");
  json broken = inline_policy;
  broken["states"]["s"]["allow"] = {{"<AI>", "nowhere"}};
  const json e = completion({{"policy", broken}}, 400);
  EXPECT_EQ(e["error"]["param"], "policy");
  EXPECT_NE(e["error"]["message"].get<std::string>().find("states.s.allow.<AI>"), std::string::npos) << e.dump();
  EXPECT_EQ(completion({{"policy", "no_such_policy"}}, 400)["error"]["param"], "policy");
}

TEST_F(Control, LogitBiasIsApplied) {
  const json plain = completion({{"max_tokens", 12}, {"seed", 5}});
  const std::vector<int> before = ids(plain["choices"][0]);
  // +100 on one text token: it is all the sampler takes (where the policy lets text through: everywhere).
  const int favourite = tok_->encode("user").front();
  const json forced = completion({{"max_tokens", 12}, {"seed", 5}, {"logit_bias", {{std::to_string(favourite), 100}}}});
  for (int id : ids(forced["choices"][0])) EXPECT_EQ(id, favourite);
  // -100 on the first token the plain run chose: never chosen again.
  const json banned = completion({{"max_tokens", 12}, {"seed", 5}, {"logit_bias", {{std::to_string(before[0]), -100}}}});
  for (int id : ids(banned["choices"][0])) EXPECT_NE(id, before[0]);
  // A tag the policy bans everywhere: a bias cannot unban it, and the answer says so.
  const json e = completion({{"logit_bias", {{std::to_string(tok_->tag_id("<|bad|>")), 5}}}}, 400);
  EXPECT_EQ(e["error"]["param"], "logit_bias");
  EXPECT_NE(e["error"]["message"].get<std::string>().find("cannot unban"), std::string::npos) << e.dump();
}

TEST_F(Control, TemptationThresholdsPerRequest) {
  // A random model always gives the banned tags some probability: a stop rule at 0 fires on the first token.
  const json r = completion({{"max_tokens", 12}, {"seed", 2},
                             {"temptation", {{{"tag", "total"}, {"threshold", 0.0}, {"action", "stop"}}}}});
  const json& c = r["choices"][0];
  EXPECT_EQ(c["finish_reason"], "content_filter");
  EXPECT_EQ(c["prealign"]["stopped_by"], "total");
  EXPECT_EQ(c["prealign"]["tokens"].size(), 1u);
  const json flagged = completion({{"max_tokens", 6}, {"seed", 2},
                                   {"temptation", {{{"tag", "total"}, {"threshold", 0.0}, {"action", "flag"}}}}});
  for (const json& t : flagged["choices"][0]["prealign"]["tokens"]) {
    const bool total_flagged = std::find(t["flags"].begin(), t["flags"].end(), "total") != t["flags"].end();
    EXPECT_TRUE(total_flagged) << t.dump();
  }
}

class LockedWithKey : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ServeOptions o;
    o.model = shared_serve_checkpoint();
    o.max_tokens = 64;
    o.api_key = "sk-test-0123456789";
    o.lock_policy = true;
    server_ = new RunningServer(o);
  }
  static void TearDownTestSuite() { delete server_; }
  static httplib::Headers key() { return {{"Authorization", "Bearer sk-test-0123456789"}}; }
  static RunningServer* server_;
};
RunningServer* LockedWithKey::server_ = nullptr;

TEST_F(LockedWithKey, TheApiNeedsTheKey) {
  const json body = {{"prompt", "x"}, {"max_tokens", 2}};
  for (const httplib::Headers& h : {httplib::Headers{}, httplib::Headers{{"Authorization", "Bearer wrong"}},
                                    httplib::Headers{{"Authorization", "sk-test-0123456789"}},
                                    httplib::Headers{{"Authorization", "Bearer sk-test-012345678"}}}) {
    auto res = server_->client().Post("/v1/completions", h, body.dump(), "application/json");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401);
    const json e = json::parse(res->body);
    EXPECT_EQ(e["error"]["code"], "invalid_api_key");
    EXPECT_EQ(e["error"]["type"], "invalid_request_error");
    EXPECT_TRUE(e["error"].contains("param"));
    EXPECT_EQ(res->get_header_value("WWW-Authenticate"), "Bearer");
    EXPECT_EQ(res->body.find("sk-test"), std::string::npos);  // never echoed
  }
  EXPECT_EQ(server_->post("/v1/completions", body, key()).status, 200);
  auto models = server_->client().Get("/v1/models");
  EXPECT_EQ(models->status, 401);
  EXPECT_EQ(server_->client().Get("/metrics")->status, 401);
  EXPECT_EQ(server_->client().Get("/health")->status, 200);  // for load balancers
  auto with = server_->client().Get("/v1/models", key());
  ASSERT_EQ(with->status, 200);
  EXPECT_EQ(json::parse(with->body)["data"][0]["prealign"]["policy_locked"], true);
}

TEST_F(LockedWithKey, RequestsThatLoosenThePolicyAreRefused) {
  auto post = [&](json body) {
    body["prompt"] = "x";
    body["max_tokens"] = 3;
    return server_->post("/v1/completions", body, key());
  };
  RunningServer::Reply r = post({{"policy", "none"}});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body["error"]["param"], "policy");
  EXPECT_EQ(r.body["error"]["type"], "permission_error");
  EXPECT_NE(r.body["error"]["message"].get<std::string>().find("--lock-policy"), std::string::npos);
  r = post({{"temptation", {{{"tag", "total"}, {"threshold", 1.0}, {"action", "stop"}}}}});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.body["error"]["param"], "temptation");
  // Stricter is fine: the deployment's own policy by name, a lower threshold, a text-token bias.
  EXPECT_EQ(post({{"policy", "ai_mode"}}).status, 200);
  r = post({{"temptation", {{{"tag", "total"}, {"threshold", 0.0}, {"action", "stop"}}}}, {"logit_bias", {{"40", 3}}}});
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["choices"][0]["finish_reason"], "content_filter");
}

}  // namespace
}  // namespace prealign
