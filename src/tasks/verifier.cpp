#include "tasks/verifier.hpp"

#include "core/error.hpp"
#include "tasks/answer.hpp"
#include "tasks/python_function.hpp"
#include "tasks/system_rules.hpp"

namespace prealign {

json Verdict::to_json() const {
  return {{"reward", reward}, {"correct", correct}, {"task_ok", task_ok}, {"rule_ok", rule_ok},
          {"format_ok", format_ok}, {"reason", reason}};
}

Verifier::Verifier(VerifierOptions options) : options_(std::move(options)) {
  if (!(options_.format_weight >= 0 && options_.format_weight <= 1))
    fail("--format-weight", "must be within [0, 1]");
}

Verdict Verifier::verify(const TaskRecord& task, std::string_view completion) const {
  const std::string where = "task " + task.id;
  if (!task.verifier.is_object() || !task.verifier.contains("type") || !task.verifier.at("type").is_string())
    fail(where, "the verifier spec must be an object with a string \"type\"");
  const std::string type = task.verifier.at("type").get<std::string>();
  Verdict v;
  if (type == "number" || type == "exact") {
    const AnswerCheck a = check_plain_answer(task.verifier, completion, where);
    v.task_ok = a.correct;
    v.format_ok = a.has_answer_line;
    v.reason = a.reason;
  } else if (type == "python") {
    bool fenced = false;
    const std::string code = extract_code(completion, &fenced);
    const PythonCheck p = check_python_function(task.verifier, code, options_.sandbox, where);
    v.task_ok = p.passed;
    v.format_ok = fenced;
    v.reason = p.reason;
  } else if (type == "system_rule") {
    const RuleCheck r = check_system_rule(task.verifier, completion, where);
    v.task_ok = r.task_ok;
    v.rule_ok = r.rule_ok;
    v.format_ok = r.format_ok;
    v.reason = r.reason;
  } else {
    fail(where, "unknown verifier type \"" + type + "\"", "one of: number, exact, python, system_rule");
  }
  v.correct = v.task_ok && v.rule_ok;
  v.reward = v.correct ? (v.format_ok ? 1.0 : 1.0 - options_.format_weight) : 0.0;
  return v;
}

}  // namespace prealign
