// The OpenAI request parser (serve/openai_request.hpp) exactly as the server
// runs it on a body: JSON with bounded nesting, then the completion and chat
// field checks, then the request's policy (serve/request_policy.hpp: a shipped
// name, an inline policy, logit_bias, temptation rules) on top of a deployment
// policy, open and locked. The only way out for a bad request is RequestError;
// whatever is accepted is within the limits, and under a lock never looser.
#include <cmath>
#include <cstdint>
#include <string>

#include "decode/policy_compare.hpp"
#include "fuzz_util.hpp"
#include "serve/openai_request.hpp"
#include "serve/request_policy.hpp"

using namespace prealign;

namespace {

void check_sampling(const SamplingRequest& s, const ServeLimits& l) {
  fuzz::check(s.options.max_new_tokens >= 0 && s.options.max_new_tokens <= l.max_tokens);
  fuzz::check(s.n >= 1 && s.n <= l.max_choices && s.stop.size() <= 4);
  fuzz::check(s.top_logprobs >= 0 && s.top_logprobs <= 20 && (s.logprobs || s.top_logprobs == 0));
  fuzz::check(!s.include_usage || s.stream);
  const float t = static_cast<float>(s.options.temperature), p = static_cast<float>(s.options.top_p);
  fuzz::check(t == 0.f || std::isnormal(t));
  fuzz::check(std::isnormal(p) && p <= 1.f);
  for (const auto& [id, b] : s.control.logit_bias) fuzz::check(id >= 0 && id < l.vocab_size && std::fabs(b) <= 100.f);
}

TagVocabulary vocabulary() {
  TagVocabulary v;
  v.vocab_size = 16;
  v.tags = {{"<|good|>", 4}, {"<|bad|>", 5}, {"<AI>", 6}, {"</AI>", 7}, {"<AI_quoting_human>", 8},
            {"</AI_quoting_human>", 9}};
  return v;
}

// The shipped ai_mode policy's shape, inline (the fuzzer must not depend on files for its base).
const char* const kDeployed = R"({"name": "deployed", "initial_state": "human",
  "start": {"tags": ["<AI>"], "position": "after_prompt"},
  "states": {"human": {"allow": {"<AI>": "ai"}, "end": true},
             "ai": {"allow": {"<AI_quoting_human>": "quoted", "</AI>": "human"}, "end": false},
             "quoted": {"allow": {"</AI_quoting_human>": "ai"}, "end": false}},
  "stop_tags": ["</AI>"], "bias": {"<AI_quoting_human>": -1.0},
  "temptation": [{"tag": "</AI>", "threshold": 0.5, "action": "flag"}, {"tag": "total", "threshold": 0.9, "action": "stop"}]})";

void check_policy(const SamplingRequest& s) {
  static const TagVocabulary vocab = vocabulary();
  static const auto deployed =
      std::make_shared<const Policy>(Policy::from_json(json::parse(kDeployed), vocab, "deployed"));
  for (bool locked : {false, true}) {
    try {
      const std::shared_ptr<const Policy> p = request_policy(s.control, deployed, vocab, locked);
      fuzz::check(p != nullptr && !p->states().empty());
      if (locked) fuzz::check(how_policy_loosens(*deployed, *p).empty());
    } catch (const RequestError& e) {
      fuzz::check(e.status == 400 || (locked && e.status == 403));
      fuzz::check(e.param == "policy" || e.param == "logit_bias" || e.param == "temptation");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ServeLimits l;
  l.max_tokens = 64;
  l.default_max_tokens = 32;  // the server makes it at most max_tokens
  l.max_choices = 8;
  l.max_prompt_bytes = 4096;
  l.context_tokens = 32;
  l.context_bytes = 32 * 16;
  l.vocab_size = 16;
  try {
    const json body = parse_request_json(std::string(reinterpret_cast<const char*>(data), size));
    try {
      const CompletionRequest c = parse_completion_request(body, l);
      check_sampling(c.sampling, l);
      fuzz::check(!c.prompts.empty() && c.prompts.size() * static_cast<size_t>(c.sampling.n) <= 8);
      for (const auto& p : c.prompts) fuzz::check(p.size() <= l.context_bytes);
      check_policy(c.sampling);
    } catch (const RequestError& e) {
      fuzz::check(e.status == 400 || e.status == 413);
    }
    const ChatRequest r = parse_chat_request(body, l);
    check_sampling(r.sampling, l);
    fuzz::check(!r.messages.empty());
    for (const auto& m : r.messages) fuzz::check(m.role == "system" || m.role == "user" || m.role == "assistant");
    check_policy(r.sampling);
  } catch (const RequestError& e) {
    fuzz::check(e.status == 400 || e.status == 413);
  }
  return 0;
}
