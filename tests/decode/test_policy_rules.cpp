// Policy rules as loaded: the shipped seed-004 examples mean what their JSON
// says, every mistake in a rule is an Error naming the file, the rule's index
// and the field, and the static views (reachable configurations, switch
// states) agree with a hand count.
#include "core/error.hpp"
#include "decode/rule_engine.hpp"
#include "rules_fixture.hpp"

namespace prealign {
namespace {

using namespace prealign::testing;

TEST(PolicyRules, CustomerServiceAsWritten) {
  const Policy p = rules_policy(policy_json("customer_service"));
  EXPECT_EQ(p.members(), 1);
  EXPECT_TRUE(p.has_rules());
  ASSERT_EQ(p.rules().size(), 2u);
  const PolicyRule& angry = p.rules()[0];
  EXPECT_EQ(angry.label, "angry_for_3_tokens");
  EXPECT_EQ(angry.when, RuleWhen::Temptation);
  EXPECT_EQ(angry.tags, std::vector<int>{kAngry});
  EXPECT_DOUBLE_EQ(angry.above, 0.3);
  EXPECT_EQ(angry.for_tokens, 3);
  EXPECT_EQ(angry.action, RuleDo::End);
  EXPECT_FALSE(angry.repeat);
  const PolicyRule& refund = p.rules()[1];
  EXPECT_EQ(refund.when, RuleWhen::Text);
  EXPECT_EQ(refund.watched, "refund");
  EXPECT_EQ(refund.action, RuleDo::Flag);
  EXPECT_TRUE(refund.repeat);
  // Every tag is banned: the assistant is never <angry> or <rude>.
  for (const auto& [name, id] : rules_vocabulary().tags) EXPECT_TRUE(p.is_banned(0, id)) << name;
}

TEST(PolicyRules, FictionAsWritten) {
  const Policy p = rules_policy(policy_json("fiction"));
  ASSERT_EQ(p.members(), 2);
  EXPECT_EQ(p.member(0).name(), "fiction");
  const Policy& mature = p.member(1);
  EXPECT_EQ(mature.name(), "fiction_mature");
  EXPECT_TRUE(mature.rules().empty());
  EXPECT_FLOAT_EQ(mature.bias().at(kNsfw), -4.f);
  EXPECT_TRUE(p.is_banned(p.state_index("story"), kNsfw));
  EXPECT_FALSE(mature.is_banned(mature.state_index("story"), kNsfw));
  ASSERT_EQ(p.rules().size(), 1u);
  const PolicyRule& r = p.rules()[0];
  EXPECT_EQ(r.when, RuleWhen::ContextHas);
  EXPECT_EQ(r.context_tag, kMature);
  EXPECT_EQ(r.action, RuleDo::Switch);
  EXPECT_EQ(r.target, 1);
  EXPECT_EQ(r.target_state, -1);
  EXPECT_EQ(switch_state(p, r, "story"), mature.state_index("story")) << "the state of the same name";
  EXPECT_EQ(switch_state(p, r, "setup"), mature.initial_state()) << "none of that name: the initial state";
  // Reachable: fiction/story (after <fiction>), fiction_mature/story and /explicit (by the rule, then <nsfw>).
  const std::vector<std::pair<int, int>> reach = reachable_configurations(p);
  std::vector<std::pair<int, int>> expected = {
      {0, p.state_index("story")}, {1, mature.state_index("story")}, {1, mature.state_index("explicit")}};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(reach, expected);
}

// Expects from_json to fail with a message containing every fragment.
void expect_error(const json& j, const std::vector<std::string>& fragments) {
  try {
    rules_policy(j, "p.json");
    ADD_FAILURE() << "no error for " << j.dump();
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const auto& f : fragments) EXPECT_NE(msg.find(f), std::string::npos) << "missing \"" << f << "\" in: " << msg;
  }
}

// customer_service with rule `i` replaced (or added when i is past the end).
json with_rule(size_t i, const json& rule) {
  json j = policy_json("customer_service");
  if (i < j["rules"].size()) {
    j["rules"][i] = rule;
  } else {
    j["rules"].push_back(rule);
  }
  return j;
}

TEST(PolicyRulesErrors, NameTheFileTheRuleIndexAndTheField) {
  const json end = {{"end", true}};
  struct Case {
    json rule;
    std::vector<std::string> fragments;
  };
  const std::vector<Case> cases = {
      {{{"label", "x"}, {"when", {{"temptation", "<angry>"}, {"above", 1.5}}}, {"do", end}},
       {"p.json: rules[1].when.above", "outside [0, 1]"}},
      {{{"label", "x"}, {"when", {{"temptation", "<angry>"}}}, {"do", end}}, {"rules[1].when", "\"above\""}},
      {{{"label", "x"}, {"when", {{"temptation", "<angy>"}, {"above", 0.1}}}, {"do", end}},
       {"rules[1].when.temptation", "unknown tag \"<angy>\"", "<angry>"}},
      {{{"label", "x"}, {"when", {{"temptation", "<angry>"}, {"above", 0.1}, {"for", 0}}}, {"do", end}},
       {"rules[1].when.for", "outside"}},
      {{{"label", "x"}, {"when", {{"after_tokens", 3}, {"above", 0.1}}}, {"do", end}},
       {"rules[1].when", "unknown key \"above\""}},
      {{{"label", "x"}, {"when", json::object()}, {"do", end}}, {"rules[1].when", "no condition given", "context_has"}},
      {{{"label", "x"}, {"when", {{"after_tokens", 3}, {"text", "a"}}}, {"do", end}}, {"rules[1].when", "both"}},
      {{{"label", "x"}, {"when", {{"after_tokens", 2.5}}}, {"do", end}}, {"rules[1].when.after_tokens", "whole number"}},
      {{{"label", "x"}, {"when", {{"enter_state", "angry"}}}, {"do", end}},
       {"rules[1].when.enter_state", "unknown state \"angry\"", "service"}},
      {{{"label", "x"}, {"when", {{"text", ""}}}, {"do", end}}, {"rules[1].when.text", "non-empty"}},
      {{{"label", "x"}, {"when", {{"monitor", 3}}}, {"do", end}}, {"rules[1].when.monitor", "reading"}},
      {{{"label", "x"}, {"when", {{"after_tokens", 3}}}, {"do", {{"switch", "elsewhere"}}}},
       {"rules[1].do.switch", "unknown policy \"elsewhere\"", "customer_service"}},
      {{{"label", "x"}, {"when", {{"after_tokens", 3}}}, {"do", {{"switch", "customer_service"}}}},
       {"rules[1].do.switch", "switches to the policy it belongs to"}},
      {{{"label", "x"}, {"when", {{"after_tokens", 3}}}, {"do", {{"bias", {{"<angy>", 1}}}}}},
       {"rules[1].do.bias", "unknown tag \"<angy>\""}},
      {{{"label", "x"}, {"when", {{"after_tokens", 3}}}, {"do", {{"bias", {{"99", 1}}}}}},
       {"rules[1].do.bias", "token id 99 is outside the vocabulary"}},
      {{{"label", "x"}, {"when", {{"after_tokens", 3}}}, {"do", {{"bias", {{"<angry>", 1000}}}}}},
       {"rules[1].do.bias.<angry>", "[-100, 100]"}},
      {{{"label", "x"}, {"when", {{"after_tokens", 3}}}, {"do", {{"remove_bias", "<angry>"}}}},
       {"rules[1].do.remove_bias", "array"}},
      {{{"label", "x"}, {"when", {{"after_tokens", 3}}}, {"do", {{"end", false}}}}, {"rules[1].do.end", "expected true"}},
      {{{"label", "x"}, {"when", {{"after_tokens", 3}}}, {"do", {{"end", true}, {"flag", true}}}}, {"rules[1].do", "both"}},
      {{{"label", "x"}, {"when", {{"after_tokens", 3}}}, {"do", {{"panic", true}}}},
       {"rules[1].do", "no action given", "switch, bias, remove_bias, end, flag"}},
      {{{"label", "x"}, {"when", {{"after_tokens", 3}}}, {"do", end}, {"repeat", true}},
       {"rules[1].repeat", "once per response"}},
      {{{"label", "x"}, {"when", {{"context_has", "<mature>"}}}, {"do", end}}, {"rules[1].do.end", "empty response"}},
      {{{"when", {{"after_tokens", 3}}}, {"do", end}}, {"rules[1].label", "missing"}},
      {{{"label", "angry_for_3_tokens"}, {"when", {{"after_tokens", 3}}}, {"do", end}},
       {"rules[1].label", "\"angry_for_3_tokens\" is used by an earlier rule"}},
      {{{"label", "x"}, {"do", end}}, {"rules[1]", "missing \"when\""}},
      {{{"label", "x"}, {"when", {{"after_tokens", 3}}}}, {"rules[1]", "missing \"do\""}},
      {{{"label", "x"}, {"when", {{"after_tokens", 3}}}, {"do", end}, {"colour", 1}}, {"rules[1]", "unknown key \"colour\""}},
  };
  for (const Case& c : cases) expect_error(with_rule(1, c.rule), c.fragments);
  json j = policy_json("customer_service");
  j["rules"] = {{"label", "x"}};
  expect_error(j, {"p.json: rules", "array"});
}

TEST(PolicyRulesErrors, OtherPoliciesOfTheFile) {
  // Errors inside another policy name its path.
  json j = policy_json("fiction");
  j["policies"]["fiction_mature"]["rules"] = {
      {{"label", "back"}, {"when", {{"enter_state", "nowhere"}}}, {"do", {{"switch", "fiction"}}}}};
  expect_error(j, {"p.json: policies.fiction_mature.rules[0].when.enter_state", "unknown state \"nowhere\"", "explicit"});
  j = policy_json("fiction");
  j["policies"]["fiction_mature"]["start"] = {{"tags", {"<mature>"}}};
  expect_error(j, {"p.json: policies.fiction_mature", "unknown key \"start\""});
  j = policy_json("fiction");
  j["policies"]["fiction_mature"]["states"]["story"]["allow"]["<nsfw>"] = "nowhere";
  expect_error(j, {"policies.fiction_mature.states.story.allow.<nsfw>", "unknown state \"nowhere\""});
  j = policy_json("fiction");
  j["policies"]["fiction"] = j["policies"]["fiction_mature"];
  expect_error(j, {"policies.fiction", "name of the file's own policy"});
  j = policy_json("fiction");
  j["rules"][0]["do"]["state"] = "explicity";
  expect_error(j, {"rules[0].do.state", "unknown state \"explicity\"", "policy \"fiction_mature\""});
  j = policy_json("fiction");
  j["policies"] = json::array();
  expect_error(j, {"p.json: policies", "expected an object"});
  // Labels are unique over the whole file.
  j = policy_json("fiction");
  j["policies"]["fiction_mature"]["rules"] = {
      {{"label", "mature_context"}, {"when", {{"after_tokens", 1}}}, {"do", {{"flag", true}}}}};
  expect_error(j, {"policies.fiction_mature.rules[0].label", "used by another rule of this file"});
  // A switch back, with an explicit state, is fine.
  j = policy_json("fiction");
  j["policies"]["fiction_mature"]["rules"] = {
      {{"label", "enough"}, {"when", {{"after_tokens", 50}}}, {"do", {{"switch", "fiction"}, {"state", "story"}}}}};
  const Policy p = rules_policy(j);
  EXPECT_EQ(p.member(1).rules()[0].target, 0);
  EXPECT_EQ(p.member(1).rules()[0].target_state, p.state_index("story"));
}

// The engine alone, on hand-made temptation: "above" is strict, "for" counts a
// run once, and a switch starts the counts again.
TEST(RuleEngine, FiresOnlyStrictlyAboveTheLevel) {
  json j = policy_json("customer_service");
  j["rules"][0]["when"]["above"] = 0.5;
  j["rules"][0]["when"]["for"] = 2;
  j["rules"][0]["do"] = {{"flag", true}};
  j["rules"][0]["repeat"] = true;
  const Policy p = rules_policy(j);
  PolicyStage stage(p);
  RuleEngine engine(p, {1});
  EXPECT_TRUE(engine.start(stage).fired.empty());
  const std::vector<float> values = {0.5f, 0.5f, 0.50001f, 0.6f, 0.7f, 0.5f, 0.51f, 0.52f};
  std::vector<int> fired_at;
  for (size_t i = 0; i < values.size(); ++i) {
    Temptation t;
    t.per_tag = {{kAngry, values[i]}, {kRude, 0.4f}};
    t.total = values[i] + 0.4f;
    const RuleOutcome out = engine.observe({&t, nullptr, "x", 0, 0, static_cast<int>(i) + 1}, stage);
    if (!out.fired.empty()) fired_at.push_back(static_cast<int>(i));
  }
  // 0.5 is not above 0.5; runs: (0.50001, 0.6, 0.7) fires at its 2nd token, (0.51, 0.52) at its 2nd.
  EXPECT_EQ(fired_at, (std::vector<int>{3, 7}));
}

TEST(PolicyRules, RequestAdjustmentsReachEveryPolicyOfTheFile) {
  Policy p = rules_policy(policy_json("fiction"));
  p.add_bias(kNsfw, -1.f);
  p.put_temptation_rule({{kRude}, "<rude>", 0.2, TemptationAction::Stop});
  for (int m = 0; m < p.members(); ++m) {
    EXPECT_EQ(p.member(m).temptation_rules().back().label, "<rude>") << m;
    EXPECT_FLOAT_EQ(p.member(m).bias().at(kNsfw), m == 0 ? -1.f : -5.f) << m;
  }
}

}  // namespace
}  // namespace prealign
