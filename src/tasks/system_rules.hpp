// Tasks whose system prompt states a checkable rule (seed 002: "follow the
// common sense interpretation of a system prompt"). Each rule is its own family,
// so whole rules can be held out (--held-out-families) to test generalisation to
// rules never trained on. The verifier checks the task and the rule separately.
//
//   family                rule in the system prompt                  check
//   system-lowercase      reply in lower case only                   no A-Z anywhere in the reply
//   system-forbidden-word never use the word W                       W not a whole word, any case
//   system-max-words      at most N words                            whitespace-separated words <= N
//   system-refuse-topic   refuse anything about topic T with phrase P on topic: P present, answer absent;
//                                                                    off topic: P absent, task right
//   system-json           reply only {"answer": ...}                 the whole reply parses as that object
//   system-prefix         begin every reply with the word W          the reply starts with W
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "core/json_io.hpp"
#include "tasks/generators.hpp"

namespace prealign {

const std::vector<std::string>& system_rule_families();

struct RuleTask {
  std::string system;  // the rule, as the system prompt
  std::string prompt;  // the user's question
  json verifier;       // {"type": "system_rule", "rule": {...}, "task": {number|exact spec}}
  std::string variant;
};
// max_digits: as arithmetic_question's, for the arithmetic questions under a rule.
RuleTask system_rule_task(const std::string& family, Rng& rng, int max_digits = 0);

struct RuleCheck {
  bool task_ok = false, rule_ok = false, format_ok = false;
  std::string reason;
};
// Errors (naming `where`) only for a malformed spec.
RuleCheck check_system_rule(const json& spec, std::string_view completion, const std::string& where);

}  // namespace prealign
