#include "serve/openai_request.hpp"

#include <cmath>
#include <random>

namespace prealign {

namespace {

[[noreturn]] void bad_field(const std::string& field, const std::string& what) {
  throw RequestError(400, "\"" + field + "\" " + what, field);
}

// A number the sampler uses as a 32-bit float: in [lo, hi], and either 0 or a
// normal float (a double like 1e-300 turns into 0 there, 1e-42 into a
// subnormal whose inverse is inf: both would fail deep inside decoding).
double float_field(const json& body, const char* key, double fallback, double lo, double hi) {
  if (!body.contains(key) || body.at(key).is_null()) return fallback;
  const json& v = body.at(key);
  if (!v.is_number()) bad_field(key, "must be a number");
  const double x = v.get<double>();
  if (!std::isfinite(x) || x < lo || x > hi)
    bad_field(key, "must be between " + json(lo).dump() + " and " + json(hi).dump() + ", got " + v.dump());
  const float f = static_cast<float>(x);
  if (x != 0.0 && !std::isnormal(f))
    bad_field(key, v.dump() + " is too small to be used as a 32-bit float (the sampler's precision)");
  return x;
}

int64_t integer_field(const json& body, const char* key, int64_t fallback, int64_t lo, int64_t hi) {
  if (!body.contains(key) || body.at(key).is_null()) return fallback;
  const json& v = body.at(key);
  if (!v.is_number_integer() && !v.is_number_unsigned()) bad_field(key, "must be an integer");
  const int64_t x = v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(INT64_MAX) ? INT64_MAX : v.get<int64_t>();
  if (x < lo || x > hi) bad_field(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  return x;
}

bool bool_field(const json& body, const char* key, bool fallback) {
  if (!body.contains(key) || body.at(key).is_null()) return fallback;
  if (!body.at(key).is_boolean()) bad_field(key, "must be true or false");
  return body.at(key).get<bool>();
}

std::string text_field(const json& v, const std::string& field, const ServeLimits& limits) {
  if (!v.is_string()) bad_field(field, "must be a string");
  std::string s = v.get<std::string>();  // nlohmann rejects invalid UTF-8 while parsing
  if (s.size() > limits.max_prompt_bytes)
    throw RequestError(413, "\"" + field + "\" is " + std::to_string(s.size()) + " bytes, the limit is " +
                                std::to_string(limits.max_prompt_bytes),
                       field);
  return s;
}

// A text of more bytes than limits.context_bytes encodes to more tokens than
// the context holds: refused before the tokenizer spends time and memory on it.
void check_fits_context(size_t bytes, const char* field, const char* noun, const ServeLimits& limits) {
  if (bytes <= limits.context_bytes) return;
  throw RequestError(400, std::string(noun) + " " + std::to_string(bytes) + " bytes, more than the model's context of " +
                              std::to_string(limits.context_tokens) + " tokens can hold (at most " +
                              std::to_string(limits.context_bytes) + " bytes)",
                     field);
}

SamplingRequest parse_sampling(const json& body, const ServeLimits& limits, bool chat) {
  if (!body.is_object()) throw RequestError(400, "the request body must be a JSON object");
  SamplingRequest r;
  GenerateOptions& o = r.options;
  const char* max_key = chat && body.contains("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  o.max_new_tokens = static_cast<int>(integer_field(body, max_key, limits.default_max_tokens, 0, limits.max_tokens));
  o.temperature = float_field(body, "temperature", 1.0, 0.0, 100.0);
  o.top_p = float_field(body, "top_p", 1.0, 1e-9, 1.0);
  o.top_k = static_cast<int>(integer_field(body, "top_k", 0, 0, 1 << 20));  // an extension, as llama.cpp's
  r.seed_given = body.contains("seed") && !body.at("seed").is_null();
  o.seed = r.seed_given ? static_cast<uint64_t>(integer_field(body, "seed", 0, 0, INT64_MAX)) : std::random_device{}();
  r.n = static_cast<int>(integer_field(body, "n", 1, 1, limits.max_choices));
  r.stream = bool_field(body, "stream", false);
  if (chat) {
    r.logprobs = bool_field(body, "logprobs", false);
  } else if (body.contains("logprobs") && !body.at("logprobs").is_null()) {
    r.logprobs = integer_field(body, "logprobs", 0, 0, 5) > 0;
  }
  if (body.contains("stop") && !body.at("stop").is_null()) {
    const json& s = body.at("stop");
    if (s.is_string()) {
      r.stop.push_back(text_field(s, "stop", limits));
    } else if (s.is_array() && s.size() <= 4) {
      for (const json& x : s) r.stop.push_back(text_field(x, "stop", limits));
    } else {
      bad_field("stop", "must be a string or an array of at most 4 strings");
    }
    for (const auto& x : r.stop)
      if (x.empty()) bad_field("stop", "must not contain empty strings");
  }
  return r;
}

}  // namespace

CompletionRequest parse_completion_request(const json& body, const ServeLimits& limits) {
  CompletionRequest r;
  r.sampling = parse_sampling(body, limits, false);
  if (!body.contains("prompt")) throw RequestError(400, "missing field \"prompt\"", "prompt");
  const json& p = body.at("prompt");
  if (p.is_string()) {
    r.prompts.push_back(text_field(p, "prompt", limits));
  } else if (p.is_array() && !p.empty() && p.size() <= static_cast<size_t>(limits.max_choices)) {
    for (const json& x : p) r.prompts.push_back(text_field(x, "prompt", limits));
  } else if (p.is_array() && !p.empty()) {
    throw RequestError(400, std::to_string(p.size()) + " prompts, the limit is " + std::to_string(limits.max_choices),
                       "prompt");
  } else {
    bad_field("prompt", "must be a string or a non-empty array of strings (token arrays are not accepted: "
                        "prompts are always encoded as plain text)");
  }
  for (const auto& x : r.prompts) check_fits_context(x.size(), "prompt", "the prompt is", limits);
  if (r.prompts.size() * static_cast<size_t>(r.sampling.n) > static_cast<size_t>(limits.max_choices))
    throw RequestError(400, "prompts x n = " + std::to_string(r.prompts.size() * r.sampling.n) +
                                " choices, the limit is " + std::to_string(limits.max_choices),
                       "n");
  return r;
}

ChatRequest parse_chat_request(const json& body, const ServeLimits& limits) {
  ChatRequest r;
  r.sampling = parse_sampling(body, limits, true);
  if (!body.contains("messages") || !body.at("messages").is_array() || body.at("messages").empty())
    throw RequestError(400, "\"messages\" must be a non-empty array", "messages");
  size_t total = 0;
  for (const json& m : body.at("messages")) {
    if (!m.is_object() || !m.contains("role") || !m.contains("content"))
      bad_field("messages", "entries must be objects with \"role\" and \"content\"");
    ChatMessage msg{m.at("role").is_string() ? m.at("role").get<std::string>() : "", ""};
    if (msg.role != "system" && msg.role != "user" && msg.role != "assistant")
      bad_field("messages", "role must be system, user or assistant");
    msg.content = text_field(m.at("content"), "messages", limits);
    total += msg.content.size();
    r.messages.push_back(std::move(msg));
  }
  if (total > limits.max_prompt_bytes)
    throw RequestError(413, "the messages hold " + std::to_string(total) + " bytes, the limit is " +
                                std::to_string(limits.max_prompt_bytes),
                       "messages");
  check_fits_context(total, "messages", "the messages hold", limits);
  return r;
}

json parse_request_json(std::string_view body) {
  try {
    return parse_json(body, "request body");
  } catch (const Error& e) {
    throw RequestError(400, e.what());
  }
}

}  // namespace prealign
