// A request's policy: shipped names only (never a path), inline policies
// checked with errors naming the field, logit_bias through the policy (a bias
// cannot unban), temptation rules on top, and a locked deployment refusing
// whatever would loosen its policy (decode/policy_compare.hpp).
#include <gtest/gtest.h>

#include "core/paths.hpp"
#include "decode/policy_compare.hpp"
#include "serve/request_policy.hpp"

namespace prealign {
namespace {

TagVocabulary vocabulary() {
  TagVocabulary v;
  v.vocab_size = 16;
  v.tags = {{"<|good|>", 4}, {"<|bad|>", 5}, {"<AI>", 6}, {"</AI>", 7}, {"<AI_quoting_human>", 8},
            {"</AI_quoting_human>", 9}};
  return v;
}

class RequestPolicy : public ::testing::Test {
 protected:
  TagVocabulary vocab = vocabulary();
  std::shared_ptr<const Policy> ai_mode = std::make_shared<const Policy>(
      Policy::load(find_shipped_file("configs/policies/ai_mode.json"), vocab));

  PolicyRequest request(const std::string& j) {
    const json r = json::parse(j);
    PolicyRequest p;
    p.policy = r.value("policy", json());
    p.temptation = r.value("temptation", json());
    if (r.contains("logit_bias"))
      for (auto it = r["logit_bias"].begin(); it != r["logit_bias"].end(); ++it)
        p.logit_bias[std::stoi(it.key())] = it.value().get<float>();
    return p;
  }
  std::shared_ptr<const Policy> apply(const std::string& j, bool locked = false) {
    return request_policy(request(j), ai_mode, vocab, locked);
  }
  RequestError refusal(const std::string& j, bool locked = false) {
    try {
      apply(j, locked);
    } catch (const RequestError& e) {
      return e;
    }
    ADD_FAILURE() << "accepted " << j;
    return RequestError(0, "");
  }
};

TEST_F(RequestPolicy, NothingAskedIsTheDeploymentsOwnPolicy) {
  EXPECT_EQ(apply("{}").get(), ai_mode.get());  // the same object: nothing copied
  EXPECT_EQ(apply("{}", true).get(), ai_mode.get());
}

TEST_F(RequestPolicy, ShippedNamesButNeverPaths) {
  EXPECT_EQ(apply(R"({"policy": "good_only"})")->name(), "good_only");
  EXPECT_EQ(apply(R"({"policy": "none"})")->name(), "unrestricted");
  for (const char* name : {"/etc/passwd", "../configs/policies/ai_mode", "configs/policies/ai_mode.json", "nope"}) {
    const RequestError e = refusal(std::string(R"({"policy": ")") + name + "\"}");
    EXPECT_EQ(e.status, 400) << name;
    EXPECT_EQ(e.param, "policy");
    EXPECT_NE(std::string(e.what()).find("good_only"), std::string::npos) << e.what();  // lists the shipped ones
  }
}

TEST_F(RequestPolicy, InlinePoliciesAreCheckedNamingThePath) {
  const auto p = apply(R"({"policy": {"name": "mine", "initial_state": "s",
                                      "states": {"s": {"allow": {"<|good|>": "s"}}}}})");
  EXPECT_EQ(p->name(), "mine");
  EXPECT_TRUE(p->is_banned(0, 5));
  RequestError e = refusal(R"({"policy": {"initial_state": "s", "states": {"s": {"allow": {"<nope>": "s"}}}}})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.param, "policy");
  EXPECT_NE(std::string(e.what()).find("states.s.allow"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("unknown tag"), std::string::npos) << e.what();
  e = refusal(R"({"policy": {"initial_state": "s", "states": {"s": {}}, "colour": 1}})");
  EXPECT_NE(std::string(e.what()).find("colour"), std::string::npos) << e.what();
  // Bounded: states are counted before any parsing.
  json many = json::object();
  for (int i = 0; i < 300; ++i) many["s" + std::to_string(i)] = json::object();
  e = refusal(json{{"policy", {{"initial_state", "s0"}, {"states", many}}}}.dump());
  EXPECT_NE(std::string(e.what()).find("300 states"), std::string::npos) << e.what();
}

TEST_F(RequestPolicy, LogitBiasGoesThroughThePolicy) {
  const auto p = apply(R"({"logit_bias": {"8": 2, "12": -100, "2": -1}})");
  EXPECT_FLOAT_EQ(p->bias().at(8), 2.f);  // a tag: added to the policy's own bias (0 for <AI_quoting_human>)
  EXPECT_FLOAT_EQ(p->bias().at(12), -100.f);  // a text token
  EXPECT_FLOAT_EQ(p->bias().at(2), -1.f);  // EOS
  EXPECT_TRUE(ai_mode->bias().count(12) == 0);  // the deployment's policy is untouched
  // <|bad|> is banned in every state of ai_mode: a positive bias cannot unban it.
  RequestError e = refusal(R"({"logit_bias": {"5": 5}})");
  EXPECT_EQ(e.status, 400);
  EXPECT_EQ(e.param, "logit_bias");
  EXPECT_NE(std::string(e.what()).find("cannot unban"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("<|bad|>"), std::string::npos) << e.what();
  // EOS: ai_mode's ai and quoted states do not allow the end, and </AI> stops
  // the response before "human": no reachable state allows it.
  EXPECT_EQ(refusal(R"({"logit_bias": {"2": 1}})").param, "logit_bias");
  // A negative bias on a banned tag keeps it banned: accepted.
  EXPECT_NO_THROW(apply(R"({"logit_bias": {"5": -3}})"));
  // </AI_quoting_human> is banned where responses start but allowed once quoting: a bias can act there.
  EXPECT_NO_THROW(apply(R"({"logit_bias": {"9": 3}})"));
  EXPECT_EQ(refusal(R"({"logit_bias": {"16": 1}})").param, "logit_bias");  // outside the vocabulary
}

TEST_F(RequestPolicy, TemptationRulesAddOrReplace) {
  const auto p = apply(R"({"temptation": [{"tag": "total", "threshold": 0.2, "action": "stop"},
                                          {"tag": ["<|bad|>", "<|good|>"], "threshold": 0.1}]})");
  ASSERT_EQ(p->temptation_rules().size(), 3u);  // ai_mode's </AI> flag, its total stop (now 0.2), the new flag
  EXPECT_DOUBLE_EQ(p->temptation_rules()[1].threshold, 0.2);
  EXPECT_EQ(p->temptation_rules()[2].label, "<|bad|>+<|good|>");
  const RequestError e = refusal(R"({"temptation": [{"tag": "total", "threshold": 2}]})");
  EXPECT_EQ(e.param, "temptation");
  EXPECT_NE(std::string(e.what()).find("temptation[0].threshold"), std::string::npos) << e.what();
}

TEST_F(RequestPolicy, ALockedDeploymentRefusesWhatLoosensIt) {
  struct Case {
    const char* request;
    const char* field;
    const char* why;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"policy": "none"})", "policy", "starts responses"},
           {R"({"policy": {"initial_state": "h", "start": {"tags": ["<AI>"], "position": "after_prompt"},
                           "states": {"h": {"allow": {"<AI>": "ai"}}, "ai": {"allow": {"</AI>": "h", "<|bad|>": "ai"},
                                      "end": false}}, "stop_tags": ["</AI>"]}})", "policy", "allows <|bad|>"},
           {R"({"policy": {"initial_state": "h", "start": {"tags": ["<AI>"], "position": "after_prompt"},
                           "states": {"h": {"allow": {"<AI>": "ai"}}, "ai": {"allow": {"</AI>": "h"}, "end": true}},
                           "stop_tags": ["</AI>"]}})", "policy", "end"},
           {R"({"policy": {"initial_state": "h", "start": {"tags": ["<AI>"], "position": "after_prompt"},
                           "states": {"h": {"allow": {"<AI>": "ai"}}, "ai": {"allow": {"</AI>": "h"}, "end": false}}}})",
            "policy", "goes on after </AI>"},
           {R"({"logit_bias": {"8": 0.5}})", "logit_bias", "raises the bias of <AI_quoting_human>"},
           {R"({"temptation": [{"tag": "total", "threshold": 0.95, "action": "stop"}]})", "temptation",
            "raises the threshold"},
       }) {
    const RequestError e = refusal(c.request, true);
    EXPECT_EQ(e.status, 403) << c.request;
    EXPECT_EQ(e.param, c.field) << c.request;
    EXPECT_NE(std::string(e.what()).find("--lock-policy"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(c.why), std::string::npos) << e.what();
    EXPECT_NO_THROW(apply(c.request, false)) << c.request;  // unlocked, each is allowed
  }
  // Stricter is fine under the lock: a lower threshold, a new rule, a ban by bias, text-token biases,
  // and a policy that allows less.
  EXPECT_NO_THROW(apply(R"({"temptation": [{"tag": "total", "threshold": 0.3, "action": "stop"},
                                           {"tag": "<|bad|>", "threshold": 0.1, "action": "stop"}],
                            "logit_bias": {"8": -100, "12": 50}})", true));
  const std::string stricter = R"({"policy": {"name": "no_quotes", "initial_state": "human",
      "start": {"tags": ["<AI>"], "position": "after_prompt"},
      "states": {"human": {"allow": {"<AI>": "ai"}}, "ai": {"allow": {"</AI>": "human"}, "end": false}},
      "stop_tags": ["</AI>"],
      "temptation": [{"tag": "</AI>", "threshold": 0.5}, {"tag": "total", "threshold": 0.9, "action": "stop"}]}})";
  EXPECT_EQ(apply(stricter, true)->name(), "no_quotes");
}

TEST(PolicyCompare, APolicyIsAsStrictAsItself) {
  const TagVocabulary v = vocabulary();
  for (const char* name : {"ai_mode", "good_only"}) {
    const Policy p = Policy::load(find_shipped_file(std::string("configs/policies/") + name + ".json"), v);
    EXPECT_EQ(how_policy_loosens(p, p), "") << name;
  }
  const Policy ai = Policy::load(find_shipped_file("configs/policies/ai_mode.json"), v);
  const Policy good = Policy::load(find_shipped_file("configs/policies/good_only.json"), v);
  EXPECT_NE(how_policy_loosens(ai, good), "");
  EXPECT_NE(how_policy_loosens(good, Policy::unrestricted(v)), "");
}

}  // namespace
}  // namespace prealign
