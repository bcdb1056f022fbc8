#include "rl/task_prompt.hpp"

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/utf8.hpp"

namespace prealign {

std::string read_seed_prompt(const std::string& path) {
  if (path.empty()) return "";
  constexpr uint64_t kMaxBytes = 64 * 1024;  // a prompt, not a corpus: a longer one is a mistake
  const uint64_t size = file_size(path);
  if (size > kMaxBytes)
    fail(path, "is " + std::to_string(size) + " bytes; a seed prompt may be at most 64 KiB");
  std::string text = read_file(path);
  size_t bad = 0;
  if (!is_valid_utf8(text, &bad)) fail(path, "is not UTF-8 (byte " + std::to_string(bad) + ")");
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (text.empty()) fail(path, "is empty", "leave --seed-prompt out for no seed prompt");
  return text;
}

std::vector<ChatMessage> task_messages(const TaskRecord& task) {
  std::vector<ChatMessage> messages;
  if (!task.system.empty()) messages.push_back({"system", task.system});
  messages.push_back({"user", task.prompt});
  return messages;
}

std::vector<int> task_context(const TaskRecord& task, const Tokenizer& tokenizer, const Policy& policy,
                              const std::string& seed_prompt) {
  return chat_context(task_messages(task), tokenizer, policy, seed_prompt);
}

}  // namespace prealign
