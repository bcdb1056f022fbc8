// The OpenAI request parser (serve/openai_request.hpp) exactly as the server
// runs it on a body: JSON with bounded nesting, then the completion and chat
// field checks. The only way out for a bad request is RequestError; whatever
// is accepted is within the limits.
#include <cmath>
#include <cstdint>
#include <string>

#include "fuzz_util.hpp"
#include "serve/openai_request.hpp"

using namespace prealign;

namespace {

void check_sampling(const SamplingRequest& s, const ServeLimits& l) {
  fuzz::check(s.options.max_new_tokens >= 0 && s.options.max_new_tokens <= l.max_tokens);
  fuzz::check(s.n >= 1 && s.n <= l.max_choices && s.stop.size() <= 4);
  const float t = static_cast<float>(s.options.temperature), p = static_cast<float>(s.options.top_p);
  fuzz::check(t == 0.f || std::isnormal(t));
  fuzz::check(std::isnormal(p) && p <= 1.f);
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
  try {
    const json body = parse_request_json(std::string(reinterpret_cast<const char*>(data), size));
    try {
      const CompletionRequest c = parse_completion_request(body, l);
      check_sampling(c.sampling, l);
      fuzz::check(!c.prompts.empty() && c.prompts.size() * static_cast<size_t>(c.sampling.n) <= 8);
      for (const auto& p : c.prompts) fuzz::check(p.size() <= l.context_bytes);
    } catch (const RequestError& e) {
      fuzz::check(e.status == 400 || e.status == 413);
    }
    const ChatRequest r = parse_chat_request(body, l);
    check_sampling(r.sampling, l);
    fuzz::check(!r.messages.empty());
  } catch (const RequestError& e) {
    fuzz::check(e.status == 400 || e.status == 413);
  }
  return 0;
}
