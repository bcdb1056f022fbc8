// How a task is put to a model in fine-tuning, RL and evaluation (seed 003):
// its system prompt (if any) and prompt as chat turns, and the seed prompt
// where the chat template puts it (decode/chat_template.hpp). One function, so
// SFT, RLVR and `eval adherence` ask every task the same way.
#pragma once
#include <string>
#include <vector>

#include "decode/chat_template.hpp"
#include "tasks/task.hpp"

namespace prealign {

// A seed prompt file: UTF-8 text, at most 64 KiB, one trailing newline
// dropped. An empty path gives "" (no seed prompt); an empty file is an error.
std::string read_seed_prompt(const std::string& path);

std::vector<ChatMessage> task_messages(const TaskRecord& task);

// The context a completion of `task` continues: chat_context(task_messages(task), ..., seed).
std::vector<int> task_context(const TaskRecord& task, const Tokenizer& tokenizer, const Policy& policy,
                              const std::string& seed_prompt);

}  // namespace prealign
