// Requests of the OpenAI-compatible API, parsed and checked against the
// server's limits: every wrong type or value is a RequestError naming the
// field, never an exception of another kind. No libtorch here, so the fuzz
// target (fuzz/openai_request.cpp) reaches exactly what the server runs.
#pragma once
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_io.hpp"
#include "decode/chat_template.hpp"  // ChatMessage
#include "decode/generate_options.hpp"

namespace prealign {

// A request the server refuses: HTTP status, message, and the offending field.
struct RequestError : public std::runtime_error {
  int status;
  std::string param;
  RequestError(int status, const std::string& message, std::string param = "")
      : std::runtime_error(message), status(status), param(std::move(param)) {}
};

struct ServeLimits {
  int max_tokens = 1024;             // per choice
  int max_choices = 64;              // prompts x n in one request
  size_t max_prompt_bytes = 1 << 20;
  int default_max_tokens = 128;
  // A prompt (or the messages together) longer than this cannot fit the
  // model's context of `context_tokens` tokens: the context length times the
  // most bytes one token stands for. Refused (400) before any encoding.
  size_t context_bytes = SIZE_MAX;
  int context_tokens = 0;
  int vocab_size = 0;  // logit_bias ids must be below it (0: not checked here)
};

// What a request asks of the policy. Its shape is checked here; it is applied
// (and checked against the model's tags and a locked deployment policy) by
// serve/request_policy.hpp.
struct PolicyRequest {
  json policy;                      // null, a shipped policy's name, or an inline policy object
  std::map<int, float> logit_bias;  // OpenAI's token id -> logit offset in [-100, 100]
  json temptation;                  // null, or rules as in a policy's "temptation" array
};

// What completions and chat share: sampling, choices, streaming, stops.
struct SamplingRequest {
  GenerateOptions options;        // max_tokens, temperature, top_p, top_k, seed
  bool seed_given = false;        // without "seed" every request draws a fresh one
  int n = 1;                      // choices per prompt
  bool stream = false;
  bool logprobs = false;          // completions: "logprobs" given (an integer); chat: "logprobs": true
  int top_logprobs = 0;           // alternatives per token: completions' "logprobs": N, chat's "top_logprobs"
  bool include_usage = false;     // "stream_options": {"include_usage": true}
  std::vector<std::string> stop;  // up to 4 strings; the text ends before the first one found
  PolicyRequest control;          // "policy", "logit_bias", "temptation"
};

struct CompletionRequest {
  std::vector<std::string> prompts;  // "prompt": a string or an array of strings
  SamplingRequest sampling;
};

struct ChatRequest {
  std::vector<ChatMessage> messages;
  SamplingRequest sampling;
};

// The body as JSON (nesting bounded, as every JSON prealign reads); RequestError
// 400 "invalid JSON: ..." otherwise.
json parse_request_json(std::string_view body);

// Throw RequestError (status 400, 413 for over-long texts) naming the field for
// a wrong type or value. Numbers the sampler keeps as 32-bit floats must
// survive that conversion: 1e-300 (float 0) or 1e39 (float inf) are refused.
// No field is ignored: one that prealign does not implement is refused by
// name, unless it changes nothing here (accepted_noop_fields).
CompletionRequest parse_completion_request(const json& body, const ServeLimits& limits);
ChatRequest parse_chat_request(const json& body, const ServeLimits& limits);

// OpenAI's optional fields that are accepted and change nothing here (listed in docs/serve.md).
const std::vector<std::string>& accepted_noop_fields();

}  // namespace prealign
