#include "serve/openai_request.hpp"

#include <algorithm>
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

bool given(const json& body, const char* key) { return body.contains(key) && !body.at(key).is_null(); }

// Fields of both endpoints; each endpoint adds its own. Anything else is refused by name.
const std::vector<std::string> kSamplingFields = {
    "max_tokens", "temperature", "top_p", "top_k", "seed", "n", "stream", "stream_options", "logprobs", "stop",
    "logit_bias", "policy", "temptation", "presence_penalty", "frequency_penalty"};
const std::vector<std::string> kCompletionFields = {"prompt", "echo", "best_of", "suffix"};
const std::vector<std::string> kChatFields = {"messages", "max_completion_tokens", "top_logprobs"};

void only_known_fields(const json& body, const std::vector<std::string>& own) {
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& k = it.key();
    auto in = [&](const std::vector<std::string>& v) { return std::find(v.begin(), v.end(), k) != v.end(); };
    if (in(kSamplingFields) || in(own) || in(accepted_noop_fields())) continue;
    bad_field(k, "is not a field prealign implements (it never ignores one silently; see docs/serve.md for the "
                 "fields it takes)");
  }
}

// A field prealign accepts only at the value that changes nothing (OpenAI's default).
void only_default(const json& body, const char* key, const json& neutral, const std::string& why) {
  if (!given(body, key)) return;
  if (body.at(key) != neutral) bad_field(key, "is not supported (" + why + "); only " + neutral.dump() + " is accepted");
}

// "logit_bias": {"token id": bias}: ids as decimal strings, biases in [-100, 100] as OpenAI's.
std::map<int, float> parse_logit_bias(const json& body, const ServeLimits& limits) {
  std::map<int, float> out;
  if (!given(body, "logit_bias")) return out;
  const json& b = body.at("logit_bias");
  if (!b.is_object()) bad_field("logit_bias", "must be an object {\"token id\": bias}");
  for (auto it = b.begin(); it != b.end(); ++it) {
    const std::string& key = it.key();
    const bool digits = !key.empty() && key.size() <= 9 &&
                        std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) bad_field("logit_bias", "keys must be token ids (decimal integers), got \"" + key + "\"");
    const int id = std::stoi(key);
    if (limits.vocab_size > 0 && id >= limits.vocab_size)
      bad_field("logit_bias", "token id " + key + " is outside the vocabulary (" + std::to_string(limits.vocab_size) +
                                  " tokens)");
    const json& v = it.value();
    if (!v.is_number() || !std::isfinite(v.get<double>()) || v.get<double>() < -100 || v.get<double>() > 100)
      bad_field("logit_bias", "the bias of token " + key + " must be a number between -100 and 100");
    out[id] = v.get<float>();
  }
  return out;
}

PolicyRequest parse_policy_request(const json& body, const ServeLimits& limits) {
  PolicyRequest r;
  if (given(body, "policy")) {
    const json& p = body.at("policy");
    if (!(p.is_string() && !p.get<std::string>().empty()) && !p.is_object())
      bad_field("policy", "must be the name of a shipped policy or a policy object (docs/formats.md, Policy)");
    r.policy = p;
  }
  r.logit_bias = parse_logit_bias(body, limits);
  if (given(body, "temptation")) {
    if (!body.at("temptation").is_array())
      bad_field("temptation", "must be an array of rules {\"tag\", \"threshold\", \"action\"}, as in a policy");
    r.temptation = body.at("temptation");
  }
  return r;
}

SamplingRequest parse_sampling(const json& body, const ServeLimits& limits, bool chat) {
  if (!body.is_object()) throw RequestError(400, "the request body must be a JSON object");
  only_known_fields(body, chat ? kChatFields : kCompletionFields);
  for (const char* key : {"model", "user"})
    if (given(body, key) && !body.at(key).is_string()) bad_field(key, "must be a string");
  if (given(body, "metadata") && !body.at("metadata").is_object()) bad_field("metadata", "must be an object");
  only_default(body, "presence_penalty", 0, "prealign's sampler has no repetition penalties");
  only_default(body, "frequency_penalty", 0, "prealign's sampler has no repetition penalties");
  SamplingRequest r;
  GenerateOptions& o = r.options;
  if (given(body, "max_tokens") && given(body, "max_completion_tokens"))
    bad_field("max_completion_tokens", "and \"max_tokens\" are the same limit: give one of them");
  const char* max_key = chat && given(body, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
  o.max_new_tokens = static_cast<int>(integer_field(body, max_key, limits.default_max_tokens, 0, limits.max_tokens));
  o.temperature = float_field(body, "temperature", 1.0, 0.0, 100.0);
  o.top_p = float_field(body, "top_p", 1.0, 1e-9, 1.0);
  o.top_k = static_cast<int>(integer_field(body, "top_k", 0, 0, 1 << 20));  // an extension, as llama.cpp's
  r.seed_given = given(body, "seed");
  o.seed = r.seed_given ? static_cast<uint64_t>(integer_field(body, "seed", 0, 0, INT64_MAX)) : std::random_device{}();
  r.n = static_cast<int>(integer_field(body, "n", 1, 1, limits.max_choices));
  r.stream = bool_field(body, "stream", false);
  if (given(body, "stream_options")) {
    const json& so = body.at("stream_options");
    if (!r.stream) bad_field("stream_options", "is only allowed with \"stream\": true");
    if (!so.is_object()) bad_field("stream_options", "must be an object");
    for (auto it = so.begin(); it != so.end(); ++it)
      if (it.key() != "include_usage") bad_field("stream_options." + it.key(), "is not supported (only include_usage)");
    if (given(so, "include_usage")) {
      if (!so.at("include_usage").is_boolean()) bad_field("stream_options.include_usage", "must be true or false");
      r.include_usage = so.at("include_usage").get<bool>();
    }
  }
  if (chat) {
    r.logprobs = bool_field(body, "logprobs", false);
    r.top_logprobs = static_cast<int>(integer_field(body, "top_logprobs", 0, 0, 20));
    if (given(body, "top_logprobs") && !r.logprobs) bad_field("top_logprobs", "needs \"logprobs\": true");
  } else if (given(body, "logprobs")) {
    r.logprobs = true;  // 0: the chosen tokens' log-probabilities, no alternatives
    r.top_logprobs = static_cast<int>(integer_field(body, "logprobs", 0, 0, 5));
  }
  if (given(body, "stop")) {
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
  r.control = parse_policy_request(body, limits);
  return r;
}

// One message's "content": a string, or an array of text parts
// [{"type": "text", "text": "..."}] joined by newlines (as vLLM does).
std::string message_content(const json& c, const std::string& field, const ServeLimits& limits) {
  if (c.is_string()) return text_field(c, field, limits);
  if (!c.is_array()) bad_field(field, "must be a string or an array of text parts [{\"type\": \"text\", \"text\": ...}]");
  std::string out;
  for (size_t i = 0; i < c.size(); ++i) {
    const std::string part = field + "[" + std::to_string(i) + "]";
    const json& p = c[i];
    if (!p.is_object()) bad_field(part, "must be an object {\"type\": \"text\", \"text\": ...}");
    if (!p.contains("type") || !p.at("type").is_string()) bad_field(part + ".type", "must be a string (\"text\")");
    if (p.at("type") != "text")
      bad_field(part + ".type", "is " + p.at("type").dump() + ": only text parts are accepted (the model reads text)");
    for (auto it = p.begin(); it != p.end(); ++it)
      if (it.key() != "type" && it.key() != "text") bad_field(part + "." + it.key(), "is not a field of a text part");
    if (!p.contains("text")) bad_field(part + ".text", "is missing");
    out += (i ? "\n" : "") + text_field(p.at("text"), part + ".text", limits);
    if (out.size() > limits.max_prompt_bytes) text_field(json(out), field, limits);  // 413 naming the message
  }
  return out;
}

}  // namespace

CompletionRequest parse_completion_request(const json& body, const ServeLimits& limits) {
  CompletionRequest r;
  r.sampling = parse_sampling(body, limits, false);
  only_default(body, "echo", false, "the response holds the completion only");
  only_default(body, "suffix", "", "prealign's models do not fill in the middle");
  if (given(body, "best_of") && body.at("best_of") != json(r.sampling.n))
    bad_field("best_of", "is not supported beyond n (no server-side ranking of candidates): give it equal to n or omit it");
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
  const json& messages = body.at("messages");
  for (size_t i = 0; i < messages.size(); ++i) {
    const std::string field = "messages[" + std::to_string(i) + "]";
    const json& m = messages[i];
    if (!m.is_object()) bad_field(field, "must be an object with \"role\" and \"content\"");
    for (auto it = m.begin(); it != m.end(); ++it)
      if (it.key() != "role" && it.key() != "content" && !it.value().is_null())
        bad_field(field + "." + it.key(), "is not supported (a message has a role and a text content)");
    if (!m.contains("role") || !m.at("role").is_string()) bad_field(field + ".role", "must be a string");
    ChatMessage msg{m.at("role").get<std::string>(), ""};
    if (msg.role == "developer") msg.role = "system";  // OpenAI's newer name for it
    if (msg.role != "system" && msg.role != "user" && msg.role != "assistant")
      bad_field(field + ".role", "must be system, developer, user or assistant");
    if (!m.contains("content")) bad_field(field + ".content", "is missing");
    msg.content = message_content(m.at("content"), field + ".content", limits);
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

const std::vector<std::string>& accepted_noop_fields() {
  // model: there is one (the response names it); user, metadata: labels for the caller's own records.
  static const std::vector<std::string> fields = {"model", "user", "metadata"};
  return fields;
}

json parse_request_json(std::string_view body) {
  try {
    return parse_json(body, "request body");
  } catch (const Error& e) {
    throw RequestError(400, e.what());
  }
}

}  // namespace prealign
