// The chat template: how a conversation (system, user and assistant turns) and
// an optional seed prompt (seed 003) become the token ids a model continues.
// Trusted code: every message and the seed prompt are human text, encoded with
// tag parsing off (a "</AI>" typed by a user stays text); tag ids come only from
// the policy (its start and stop tags). Used by serve, the RL trainer and eval.
#pragma once
#include <string>
#include <vector>

#include "decode/policy.hpp"
#include "tokenizer/tokenizer.hpp"

namespace prealign {

struct ChatMessage {
  std::string role;     // system | user | assistant ("developer" is taken as system)
  std::string content;  // a string, or the text parts joined by "\n"
};

// [BOS], then for a policy that starts before the prompt (conditional models:
// <|good|>) the start tags, the seed prompt and the turns as "System: ...",
// "User: ...", "Assistant: ..." lines, ending in "Assistant: ". For a policy
// that starts after the prompt (seed 000's AI mode) the turns come first, each
// earlier assistant turn inside the start tags and first stop tag, and the
// context ends in the start tags followed by the seed prompt: the seed is the
// character's own opening words, inside <AI>. An empty seed adds nothing.
std::vector<int> chat_context(const std::vector<ChatMessage>& messages, const Tokenizer& tokenizer,
                              const Policy& policy, const std::string& seed_prompt = "");

}  // namespace prealign
