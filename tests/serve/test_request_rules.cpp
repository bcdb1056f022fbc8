// Dynamic rules in a request's inline policy, and --lock-policy with rules on
// either side: a rule that could loosen the deployment (a switch to a looser
// policy, a bias raised on a tag) is a 403 naming "policy" and saying how; a
// deployment whose policy has rules accepts only its own rules. Over HTTP: the
// per-token "rules" field, the finish reason and /metrics.
#include <gtest/gtest.h>

#include "core/paths.hpp"
#include "decode/policy_compare.hpp"
#include "running_server.hpp"
#include "serve/request_policy.hpp"
#include "serve_fixture.hpp"

namespace prealign {
namespace {

using namespace prealign::testing;

TagVocabulary vocabulary() {
  TagVocabulary v;
  v.vocab_size = 32;
  v.tags = {{"<|good|>", 4}, {"<|bad|>", 5},  {"<AI>", 6},     {"</AI>", 7},      {"<AI_quoting_human>", 8},
            {"</AI_quoting_human>", 9},        {"<angry>", 10}, {"<nsfw>", 11}, {"<mature>", 12}, {"<fiction>", 13}, {"</nsfw>", 14}};
  return v;
}

json shipped(const std::string& name) { return read_json_file(find_shipped_file("configs/policies/" + name + ".json")); }

class RequestRules : public ::testing::Test {
 protected:
  TagVocabulary vocab = vocabulary();

  std::shared_ptr<const Policy> deploy(const std::string& name) {
    return std::make_shared<const Policy>(Policy::from_json(shipped(name), vocab, name + ".json"));
  }
  std::shared_ptr<const Policy> apply(const std::shared_ptr<const Policy>& deployed, const json& r, bool locked) {
    PolicyRequest p;
    p.policy = r.value("policy", json());
    p.temptation = r.value("temptation", json());
    if (r.contains("logit_bias"))
      for (auto it = r["logit_bias"].begin(); it != r["logit_bias"].end(); ++it)
        p.logit_bias[std::stoi(it.key())] = it.value().get<float>();
    return request_policy(p, deployed, vocab, locked);
  }
  RequestError refusal(const std::shared_ptr<const Policy>& deployed, const json& r, bool locked) {
    try {
      apply(deployed, r, locked);
    } catch (const RequestError& e) {
      return e;
    }
    ADD_FAILURE() << "accepted " << r.dump();
    return RequestError(0, "");
  }
};

// ai_mode with rules and policies added.
json ai_mode_with(const json& rules, const json& policies = json::object()) {
  json j = shipped("ai_mode");
  j["rules"] = rules;
  if (!policies.empty()) j["policies"] = policies;
  return j;
}

// ai_mode as another policy of a file (no name, no start tags).
json ai_mode_member() {
  json j = shipped("ai_mode");
  for (const char* key : {"name", "start", "description"}) j.erase(key);
  return j;
}

const json kOpen = {{"initial_state", "ai"},
                    {"states", {{"ai", {{"allow", {{"</AI>", "ai"}, {"<|bad|>", "ai"}}}, {"end", false}}}}},
                    {"stop_tags", {"</AI>"}},
                    {"temptation", {{{"tag", "</AI>"}, {"threshold", 0.5}}, {{"tag", "total"}, {"threshold", 0.9}, {"action", "stop"}}}}};

TEST_F(RequestRules, ALockedStaticDeploymentRefusesRulesThatCouldLoosenIt) {
  const auto ai_mode = deploy("ai_mode");
  struct Case {
    json policy;
    std::vector<std::string> why;
  };
  json no_stop_rule = ai_mode_member();
  no_stop_rule["temptation"] = json::array({{{"tag", "</AI>"}, {"threshold", 0.5}}});
  const std::vector<Case> cases = {
      {ai_mode_with({{{"label", "loosen"}, {"when", {{"after_tokens", 5}}}, {"do", {{"switch", "open"}}}}}, {{"open", kOpen}}),
       {"it allows ", "of policy \"open\" (reached when rule \"loosen\" switches to policy \"open\")"}},
      {ai_mode_with({{{"label", "nudge"}, {"when", {{"text", "please"}}}, {"do", {{"bias", {{"<AI_quoting_human>", 2}}}}}}}),
       {"rule \"nudge\" can raise the bias of <AI_quoting_human> to 2", "the deployment's: 0"}},
      {ai_mode_with({{{"label", "creep"},
                      {"when", {{"temptation", "total"}, {"above", 0.1}}},
                      {"do", {{"bias", {{"<AI_quoting_human>", 0.01}}}}},
                      {"repeat", true}}}),
       {"rule \"creep\"", "without bound"}},
      {ai_mode_with({{{"label", "drop"}, {"when", {{"after_tokens", 1}}}, {"do", {{"switch", "lax"}}}}}, {{"lax", no_stop_rule}}),
       {"in policy \"lax\"", "drops the temptation rule on total"}},
  };
  for (const Case& c : cases) {
    const RequestError e = refusal(ai_mode, {{"policy", c.policy}}, true);
    EXPECT_EQ(e.status, 403) << c.policy.dump();
    EXPECT_EQ(e.param, "policy");
    for (const auto& w : c.why) EXPECT_NE(std::string(e.what()).find(w), std::string::npos) << w << " in " << e.what();
    EXPECT_NO_THROW(apply(ai_mode, {{"policy", c.policy}}, false)) << "unlocked, each is allowed";
  }
  // Rules that only tighten pass the lock: an end, a flag, a negative bias, a
  // switch to a policy that allows less and keeps the deployment's temptation rules.
  json strict = ai_mode_member();  // the same states, without quoting
  strict["states"]["ai"]["allow"].erase("<AI_quoting_human>");
  const json tighter = ai_mode_with(
      {{{"label", "end_on_pull"}, {"when", {{"temptation", "total"}, {"above", 0.2}, {"for", 2}}}, {"do", {{"end", true}}}},
       {{"label", "watch"}, {"when", {{"text", "kill"}}}, {"do", {{"flag", true}}}, {"repeat", true}},
       {{"label", "hush"}, {"when", {{"after_tokens", 3}}}, {"do", {{"bias", {{"<AI_quoting_human>", -3}}}}}},
       {{"label", "no_quotes"}, {"when", {{"enter_state", "quoted"}}}, {"do", {{"switch", "strict"}}}}},
      {{"strict", strict}});
  const auto p = apply(ai_mode, {{"policy", tighter}}, true);
  EXPECT_EQ(p->members(), 2);
  EXPECT_EQ(how_policy_loosens(*ai_mode, *p), "");
}

TEST_F(RequestRules, ADeploymentWithRulesAcceptsOnlyItsOwnRules) {
  const auto service = deploy("customer_service");
  EXPECT_EQ(how_policy_loosens(*service, *service), "");
  // The same policy, sent inline, with stricter biases and temptation rules: fine.
  EXPECT_NO_THROW(apply(service, {{"policy", shipped("customer_service")}}, true));
  EXPECT_NO_THROW(apply(service, {{"logit_bias", {{"10", -5}}},
                                  {"temptation", {{{"tag", "<angry>"}, {"threshold", 0.1}}}}}, true));
  // Dropping its end rule, or changing it (even to fire earlier), is refused: rules compare rule for rule.
  json dropped = shipped("customer_service");
  dropped["rules"].erase(0);
  RequestError e = refusal(service, {{"policy", dropped}}, true);
  EXPECT_EQ(e.status, 403);
  EXPECT_NE(std::string(e.what()).find("has other rules"), std::string::npos) << e.what();
  json sooner = shipped("customer_service");
  sooner["rules"][0]["when"]["for"] = 1;
  EXPECT_EQ(refusal(service, {{"policy", sooner}}, true).status, 403);
  // A static policy cannot stand in for it either (it would not end the conversation).
  json plain = shipped("customer_service");
  plain.erase("rules");
  e = refusal(service, {{"policy", plain}}, true);
  EXPECT_NE(std::string(e.what()).find("has other rules"), std::string::npos) << e.what();
  // The policy's own temptation rule: raising its threshold is still refused, as without rules.
  e = refusal(service, {{"temptation", {{{"tag", "<angry>"}, {"threshold", 0.9}}}}}, true);
  EXPECT_EQ(e.param, "temptation");
  EXPECT_NE(std::string(e.what()).find("raises the threshold"), std::string::npos) << e.what();
}

TEST_F(RequestRules, LogitBiasSeesThePoliciesRulesCanSwitchTo) {
  const auto fiction = deploy("fiction");
  // <nsfw> is banned where responses start, but fiction_mature (reachable by a rule) allows it.
  const auto p = apply(fiction, {{"logit_bias", {{"11", 1}}}}, false);
  EXPECT_FLOAT_EQ(p->member(1).bias().at(11), -3.f) << "added to every policy of the file";
  // <angry> is banned in every state of every policy: a bias cannot unban it.
  const RequestError e = refusal(fiction, {{"logit_bias", {{"10", 1}}}}, false);
  EXPECT_EQ(e.status, 400);
  EXPECT_NE(std::string(e.what()).find("cannot unban"), std::string::npos) << e.what();
  // Under the lock, raising <nsfw> is a loosening: the deployment has rules, biases compare policy by policy.
  const RequestError locked = refusal(fiction, {{"logit_bias", {{"11", 1}}}}, true);
  EXPECT_EQ(locked.status, 403);
  EXPECT_NE(std::string(locked.what()).find("it raises the bias of <nsfw> from 0.0 to 1.0"), std::string::npos)
      << locked.what();
}

TEST_F(RequestRules, InlinePoliciesAreBoundedInRulesAndPolicies) {
  const auto ai_mode = deploy("ai_mode");
  json many_rules = json::array();
  for (int i = 0; i < 65; ++i)
    many_rules.push_back({{"label", "r" + std::to_string(i)}, {"when", {{"after_tokens", 1}}}, {"do", {{"flag", true}}}});
  RequestError e = refusal(ai_mode, {{"policy", ai_mode_with(many_rules)}}, false);
  EXPECT_NE(std::string(e.what()).find("65 rules"), std::string::npos) << e.what();
  json policies = json::object();
  for (int i = 0; i < 17; ++i) policies["p" + std::to_string(i)] = kOpen;
  e = refusal(ai_mode, {{"policy", ai_mode_with(json::array(), policies)}}, false);
  EXPECT_NE(std::string(e.what()).find("17 policies"), std::string::npos) << e.what();
  // A rule error names the field inside the policy.
  e = refusal(ai_mode, {{"policy", ai_mode_with({{{"label", "x"}, {"when", {{"after_tokens", 0}}}, {"do", {{"end", true}}}}})}},
              false);
  EXPECT_EQ(e.status, 400);
  EXPECT_NE(std::string(e.what()).find("policy: rules[0].when.after_tokens"), std::string::npos) << e.what();
}

// Over HTTP, on the server tests' small checkpoint (ai_mode tags).
TEST(RequestRulesHttp, FiringsAreInTheTokenRecordsAndInMetrics) {
  ServeOptions o;
  o.model = shared_serve_checkpoint();
  o.max_tokens = 64;
  RunningServer server(o);
  json policy = shipped("ai_mode");
  policy["bias"] = {{"</AI>", -100.0}};  // no early end: the rules decide
  policy["temptation"] = json::array();
  policy["rules"] = {{{"label", "bias_after_2"}, {"when", {{"after_tokens", 2}}}, {"do", {{"bias", {{"<AI_quoting_human>", -1}}}}}},
                     {{"label", "end_after_4"}, {"when", {{"after_tokens", 4}}}, {"do", {{"end", true}}}}};
  for (bool stream : {false, true}) {
    const json body = {{"prompt", "The user asks"}, {"max_tokens", 20}, {"seed", 3}, {"policy", policy}, {"stream", stream}};
    const RunningServer::Reply r = server.post("/v1/completions", body);
    ASSERT_EQ(r.status, 200) << r.raw;
    std::vector<json> tokens;
    json last;
    if (stream) {
      bool done = false;
      for (const json& ev : sse_events(r.raw, &done)) {
        const json& c = ev["choices"][0];
        if (c.contains("prealign") && c["prealign"].contains("token")) tokens.push_back(c["prealign"]["token"]);
        if (!c["finish_reason"].is_null()) last = c;
      }
      EXPECT_TRUE(done);
    } else {
      last = r.body["choices"][0];
      for (const json& t : last["prealign"]["tokens"]) tokens.push_back(t);
    }
    ASSERT_EQ(tokens.size(), 4u) << r.raw;
    EXPECT_EQ(last["finish_reason"], "content_filter");
    EXPECT_EQ(last["prealign"]["finish_reason"], "rule");
    EXPECT_EQ(last["prealign"]["stopped_by"], "end_after_4");
    EXPECT_EQ(tokens[0]["rules"], json::array());
    EXPECT_EQ(tokens[1]["rules"][0]["rule"], "bias_after_2");
    EXPECT_EQ(tokens[1]["rules"][0]["action"], "bias <AI_quoting_human> -1 (now -1)");
    EXPECT_EQ(tokens[3]["rules"], json::parse(R"([{"rule": "end_after_4", "action": "ended the response"}])"));
  }
  httplib::Client c = server.client();
  const auto m = c.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("prealign_rules_fired_total 4"), std::string::npos) << m->body;
  EXPECT_NE(m->body.find("prealign_rule_ends_total 2"), std::string::npos) << m->body;
}

}  // namespace
}  // namespace prealign
