// The OpenAI-compatible shapes `prealign serve` speaks (as llama.cpp's server
// and vLLM do): the chat template, responses and stream chunks built from
// Generations (requests: serve/openai_request.hpp). No sockets here, so every
// rule is testable as a plain function. Temptation rides in an extra "prealign" field.
#pragma once
#include <string>
#include <vector>

#include "core/json_io.hpp"
#include "decode/chat_template.hpp"
#include "decode/generator.hpp"
#include "serve/openai_request.hpp"
#include "serve/token_text.hpp"

namespace prealign {

// OpenAI finish_reason of a Generation: eos and stop tags are "stop", a
// temptation stop rule or a policy rule's end is "content_filter", the token
// limit is "length", and a choice cut short by the server's shutdown "cancelled".
std::string openai_finish_reason(const Generation& g);

// Per-choice extra field: finish detail, temptation summary and per-token
// records (each with its text_offset in the response text; `aligned` as
// align_tokens(g) gives it).
json prealign_extra(const Generation& g, const std::vector<AlignedToken>& aligned);

struct ResponseMeta {
  std::string id, model;
  int64_t created = 0;
};

// OpenAI's logprobs of aligned tokens, tags left out (they are not in the text):
// the raw log-probability of each token and of its `request.top_logprobs`
// most likely alternatives. Completions: {tokens, token_logprobs, top_logprobs,
// text_offset}; chat: {content: [{token, logprob, bytes, top_logprobs}]}.
json completion_logprobs(const std::vector<AlignedToken>& aligned, const SamplingRequest& request);
json chat_logprobs(const std::vector<AlignedToken>& aligned, const SamplingRequest& request);

// `choices` come prompt by prompt, request.n each (for the token counts in "usage").
json completion_response(const std::vector<Generation>& choices, const SamplingRequest& request,
                         const ResponseMeta& meta);
json chat_response(const std::vector<Generation>& choices, const SamplingRequest& request, const ResponseMeta& meta);
json usage(const std::vector<Generation>& choices, int n);

// One streamed event of choice `index` ("text_completion" or "chat.completion.chunk"):
// `text` released now, the token just generated (none for the tail released at
// the end) and the tokens whose pieces became final with it (for logprobs).
// A chat choice's first event carries delta.role.
struct StreamPiece {
  size_t index = 0;
  std::string text;
  const TokenRecord* token = nullptr;
  std::vector<AlignedToken> released;
  bool first = false;
};
json completion_chunk(const StreamPiece& piece, const SamplingRequest& request, const ResponseMeta& meta);
json chat_chunk(const StreamPiece& piece, const SamplingRequest& request, const ResponseMeta& meta);
// The last event of a choice, carrying its finish_reason and summary (and
// delta.role when it is also the first).
json final_chunk(bool chat, size_t index, bool first, const Generation& g, const ResponseMeta& meta);
// stream_options.include_usage: the event before [DONE], with no choices.
json usage_chunk(bool chat, const std::vector<Generation>& choices, int n, const ResponseMeta& meta);

json error_body(const std::string& message, const std::string& type, const std::string& param,
                const std::string& code = "");

// Where the first of `stops` occurs in `text`, or npos.
size_t find_stop(const std::string& text, const std::vector<std::string>& stops);
// Ends `g` at a stop string found in its text: the text is cut there, the
// token in which the stop string begins keeps its text before it, the tokens
// after are dropped, and the finish reason becomes "stop_sequence". False if none occurs.
bool apply_stop(Generation& g, const std::vector<std::string>& stops);

}  // namespace prealign
