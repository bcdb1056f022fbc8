// The OpenAI-compatible shapes `prealign serve` speaks (as llama.cpp's server
// and vLLM do): the chat template, responses and stream chunks built from
// Generations (requests: serve/openai_request.hpp). No sockets here, so every
// rule is testable as a plain function. Temptation rides in an extra "prealign" field.
#pragma once
#include <string>
#include <vector>

#include "core/json_io.hpp"
#include "decode/generator.hpp"
#include "serve/openai_request.hpp"

namespace prealign {

// The chat template, trusted code: message contents are encoded as plain text
// (a "</AI>" typed by a user stays text); earlier assistant turns are wrapped in
// the policy's start tags and first stop tag when the policy starts after the
// prompt (seed 000's AI mode), and generation starts as Generator::context_for does.
std::vector<int> chat_context(const std::vector<ChatMessage>& messages, const Tokenizer& tokenizer,
                              const Policy& policy);

// OpenAI finish_reason of a Generation: eos and stop tags are "stop", a
// temptation stop rule is "content_filter", the token limit is "length".
std::string openai_finish_reason(const Generation& g);

// Per-choice extra field: finish detail, temptation summary and per-token records.
json prealign_extra(const Generation& g);

struct ResponseMeta {
  std::string id, model;
  int64_t created = 0;
};

// `choices` come prompt by prompt, n each (for the token counts in "usage").
json completion_response(const std::vector<Generation>& choices, int n, bool logprobs, const ResponseMeta& meta);
json chat_response(const std::vector<Generation>& choices, int n, bool logprobs, const ResponseMeta& meta);

// One streamed token of choice `index` ("text_completion" or "chat.completion.chunk").
json completion_chunk(size_t index, const std::string& text, const TokenRecord& token, bool logprobs,
                      const ResponseMeta& meta);
json chat_chunk(size_t index, const std::string& text, const TokenRecord& token, bool logprobs,
                const ResponseMeta& meta);
// The last chunk of a choice, carrying its finish_reason and summary.
json final_chunk(bool chat, size_t index, const Generation& g, const ResponseMeta& meta);

json error_body(const std::string& message, const std::string& type, const std::string& param);

// Where the first of `stops` occurs in `text`, or npos.
size_t find_stop(const std::string& text, const std::vector<std::string>& stops);
// Ends `g` at a stop string found in its text: text and records are cut there
// and the finish reason becomes "stop_sequence". False if none occurs.
bool apply_stop(Generation& g, const std::vector<std::string>& stops);

// Streams bytes as UTF-8 text: a token may end inside a character, so the
// incomplete tail waits for the next token (invalid bytes become U+FFFD).
class Utf8Stream {
 public:
  std::string push(const std::string& bytes);
  std::string flush();

 private:
  std::string pending_;
};

}  // namespace prealign
