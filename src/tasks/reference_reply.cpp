#include "tasks/reference_reply.hpp"

namespace prealign {
namespace {

// The answer as it is written after "Answer:": strings bare, numbers in JSON.
std::string plain(const json& answer) { return answer.is_string() ? answer.get<std::string>() : answer.dump(); }

std::optional<std::string> rule_reply(const json& spec) {
  if (!spec.contains("rule") || !spec.contains("task") || !spec.at("task").contains("answer")) return std::nullopt;
  const json& rule = spec.at("rule");
  const json& answer = spec.at("task").at("answer");
  const std::string kind = rule.value("kind", "");
  if (kind == "json_answer") return json{{"answer", answer}}.dump();
  if (kind == "refuse_topic" && rule.value("on_topic", false)) return rule.value("refusal", "");
  if (kind == "lowercase") return "answer: " + plain(answer);
  if (kind == "prefix") return rule.value("word", "") + ".\nAnswer: " + plain(answer);
  return "Answer: " + plain(answer);  // forbidden word, max words, off-topic questions
}

}  // namespace

std::optional<std::string> reference_reply(const TaskRecord& task) {
  const json& spec = task.verifier;
  if (!spec.is_object() || !spec.contains("type")) return std::nullopt;
  const std::string type = spec.at("type").is_string() ? spec.at("type").get<std::string>() : "";
  if ((type == "number" || type == "exact") && spec.contains("answer")) return "Answer: " + plain(spec.at("answer"));
  if (type == "system_rule") return rule_reply(spec);
  return std::nullopt;  // python: the spec holds tests, not a solution
}

}  // namespace prealign
