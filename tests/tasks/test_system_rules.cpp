// System-rule verifiers: cases written by hand for every rule (kept, broken,
// task right, task wrong), then every generated task's compliant reply passes.
#include <gtest/gtest.h>

#include <map>

#include "tasks/answer.hpp"
#include "tasks/system_rules.hpp"
#include "tasks_helpers.hpp"

using namespace prealign;
using namespace prealign::testing;

namespace {

TaskRecord rule_task(const json& rule, const json& task) {
  TaskRecord t;
  t.id = "hand";
  t.family = "system-hand";
  t.verifier = {{"type", "system_rule"}, {"rule", rule}, {"task", task}};
  return t;
}

const json kNumber = {{"type", "number"}, {"answer", 42}};
const json kText = {{"type", "exact"}, {"answer", "elppa"}};

}  // namespace

TEST(SystemRules, Lowercase) {
  const TaskRecord t = rule_task({{"kind", "lowercase"}}, kNumber);
  Verdict v = verify(t, "answer: 42");
  EXPECT_TRUE(v.correct) << v.reason;
  v = verify(t, "Answer: 42");
  EXPECT_TRUE(v.task_ok);
  EXPECT_FALSE(v.rule_ok);
  EXPECT_FALSE(v.correct);
  EXPECT_EQ(v.reward, 0.0);
  v = verify(t, "answer: 41");
  EXPECT_TRUE(v.rule_ok);
  EXPECT_FALSE(v.correct);
}

TEST(SystemRules, ForbiddenWord) {
  const TaskRecord t = rule_task({{"kind", "forbidden_word"}, {"word", "banana"}}, kNumber);
  EXPECT_TRUE(verify(t, "It occurs 42 times.\nAnswer: 42").correct);
  EXPECT_FALSE(verify(t, "In banana it occurs...\nAnswer: 42").rule_ok);
  EXPECT_FALSE(verify(t, "BANANA: Answer: 42").rule_ok);
  EXPECT_TRUE(verify(t, "bananas are not the word. Answer: 42").rule_ok);  // whole words only (docs/tasks.md)
}

TEST(SystemRules, MaxWords) {
  const TaskRecord t = rule_task({{"kind", "max_words"}, {"n", 3}}, kText);
  EXPECT_TRUE(verify(t, "Answer: elppa").correct);
  EXPECT_TRUE(verify(t, "elppa").correct);
  const Verdict v = verify(t, "The reversed string is:\nAnswer: elppa");
  EXPECT_TRUE(v.task_ok);
  EXPECT_FALSE(v.rule_ok);
}

TEST(SystemRules, RefuseTopic) {
  const json on = {{"kind", "refuse_topic"}, {"topic", "cooking"}, {"refusal", "I can't help with that."}, {"on_topic", true}};
  json off = on;
  off["on_topic"] = false;
  const TaskRecord asked_on = rule_task(on, kNumber), asked_off = rule_task(off, kNumber);
  EXPECT_TRUE(verify(asked_on, "I can't help with that.").correct);
  EXPECT_TRUE(verify(asked_on, "  i can't help with that  ").correct);
  EXPECT_FALSE(verify(asked_on, "Answer: 42").correct);
  EXPECT_FALSE(verify(asked_on, "I can't help with that. (It is 42.)").correct);  // refusal plus the answer
  EXPECT_TRUE(verify(asked_off, "Answer: 42").correct);
  EXPECT_FALSE(verify(asked_off, "I can't help with that.").correct);
  EXPECT_FALSE(verify(asked_off, "Answer: 41").correct);
}

TEST(SystemRules, JsonAnswer) {
  const TaskRecord num = rule_task({{"kind", "json_answer"}}, kNumber), text = rule_task({{"kind", "json_answer"}}, kText);
  EXPECT_TRUE(verify(num, "{\"answer\": 42}").correct);
  EXPECT_TRUE(verify(num, " {\"answer\": \"42\"}\n").correct);
  EXPECT_TRUE(verify(text, "{\"answer\": \"elppa\"}").correct);
  Verdict v = verify(num, "Answer: 42");
  EXPECT_TRUE(v.task_ok);  // the task part is still read, for adherence reports
  EXPECT_FALSE(v.rule_ok);
  EXPECT_FALSE(verify(num, "```json\n{\"answer\": 42}\n```").rule_ok);
  EXPECT_FALSE(verify(num, "{\"answer\": 42, \"why\": \"x\"}").rule_ok);
  EXPECT_FALSE(verify(num, "{\"answer\": 43}").correct);
  EXPECT_FALSE(verify(text, "{\"answer\": 5}").correct);
}

TEST(SystemRules, Prefix) {
  const TaskRecord t = rule_task({{"kind", "prefix"}, {"word", "Certainly"}}, kNumber);
  EXPECT_TRUE(verify(t, "Certainly! Answer: 42").correct);
  EXPECT_TRUE(verify(t, "\nCertainly.\nAnswer: 42").correct);
  EXPECT_FALSE(verify(t, "Certainlyyy Answer: 42").rule_ok);
  EXPECT_FALSE(verify(t, "Answer: 42. Certainly").rule_ok);
}

TEST(SystemRules, UnknownRuleIsAnError) {
  EXPECT_THROW(verify(rule_task({{"kind", "telepathy"}}, kNumber), "x"), Error);
  EXPECT_THROW(verify(rule_task({{"kind", "max_words"}}, kNumber), "x"), Error);
}

// The reply a rule-abiding model would give, built from the record's own spec.
std::string compliant_reply(const TaskRecord& t) {
  const json& rule = t.verifier.at("rule");
  const json& answer = t.verifier.at("task").at("answer");
  const std::string plain = answer.is_string() ? answer.get<std::string>() : answer.dump();
  const std::string kind = rule.at("kind");
  if (kind == "json_answer") return json{{"answer", answer}}.dump();
  if (kind == "refuse_topic" && rule.at("on_topic").get<bool>()) return rule.at("refusal");
  if (kind == "lowercase") return "answer: " + plain;
  if (kind == "prefix") return rule.at("word").get<std::string>() + ".\nAnswer: " + plain;
  return "Answer: " + plain;
}

TEST(SystemRules, EveryGeneratedTaskAcceptsACompliantReplyAndRejectsAWrongOne) {
  const auto tasks = make_family("system-rules", 40);
  ASSERT_EQ(tasks.size(), 40u * system_rule_families().size());
  for (const auto& t : tasks) {
    EXPECT_FALSE(t.system.empty());
    EXPECT_EQ(t.prompt.find(t.verifier.dump()), std::string::npos);
    const Verdict good = verify(t, compliant_reply(t));
    EXPECT_TRUE(good.correct) << t.family << ": " << good.reason << "\n" << t.system << "\n" << t.prompt;
    // and the task's answer must not be at odds with the rule
    if (t.verifier["rule"]["kind"] == "forbidden_word") {
      const json& a = t.verifier["task"]["answer"];
      EXPECT_FALSE(contains_word(a.is_string() ? a.get<std::string>() : a.dump(), t.verifier["rule"]["word"].get<std::string>()));
    }
  }
  // a reply that ignores the rule fails each rule family at least once
  std::map<std::string, int> broken;
  for (const auto& t : tasks) {
    const json& answer = t.verifier.at("task").at("answer");
    const std::string plain = answer.is_string() ? answer.get<std::string>() : answer.dump();
    const std::string careless = "Sure, I will calculate that for you. The result is the following.\nAnswer: " + plain;
    broken[t.family] += !verify(t, careless).correct;
  }
  for (const auto& f : system_rule_families()) EXPECT_GT(broken[f], 0) << f;
}
