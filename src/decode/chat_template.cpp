#include "decode/chat_template.hpp"

namespace prealign {

std::vector<int> chat_context(const std::vector<ChatMessage>& messages, const Tokenizer& tokenizer,
                              const Policy& policy, const std::string& seed_prompt) {
  const std::vector<int>& start = policy.start_tags();
  const bool after = policy.start_after_prompt();
  std::vector<int> ctx{Tokenizer::kBos};
  bool at_start = true;  // the first text starts the sequence (add_dummy_prefix)
  auto text = [&](const std::string& s) {
    // untrusted text: tag parsing off
    const std::vector<int> ids = at_start ? tokenizer.encode_start(s) : tokenizer.encode(s);
    at_start = at_start && s.empty();
    ctx.insert(ctx.end(), ids.begin(), ids.end());
  };
  if (!after) {
    ctx.insert(ctx.end(), start.begin(), start.end());
    if (!seed_prompt.empty()) text(seed_prompt + "\n");
  }
  for (const ChatMessage& m : messages) {
    if (m.role == "assistant" && after && !start.empty() && !policy.stop_tags().empty()) {
      ctx.insert(ctx.end(), start.begin(), start.end());  // the model's own earlier turn, in its mode
      text(m.content);
      ctx.push_back(policy.stop_tags().front());
      text("\n");
    } else {
      const std::string label = m.role == "system" || m.role == "developer" ? "System"
                                : m.role == "user"                          ? "User"
                                                                            : "Assistant";
      text(label + ": " + m.content + "\n");
    }
  }
  if (after) {
    ctx.insert(ctx.end(), start.begin(), start.end());
    if (!seed_prompt.empty()) text(seed_prompt + "\n");
  } else {
    text("Assistant: ");
  }
  return ctx;
}

}  // namespace prealign
