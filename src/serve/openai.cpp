#include "serve/openai.hpp"

#include <cmath>

#include "core/utf8.hpp"

namespace prealign {

std::vector<int> chat_context(const std::vector<ChatMessage>& messages, const Tokenizer& tokenizer,
                              const Policy& policy) {
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
  if (!after) ctx.insert(ctx.end(), start.begin(), start.end());
  for (const ChatMessage& m : messages) {
    if (m.role == "assistant" && after && !start.empty() && !policy.stop_tags().empty()) {
      ctx.insert(ctx.end(), start.begin(), start.end());  // the model's own earlier turn, in its mode
      text(m.content);
      ctx.push_back(policy.stop_tags().front());
      text("\n");
    } else {
      const std::string label = m.role == "system" ? "System" : m.role == "user" ? "User" : "Assistant";
      text(label + ": " + m.content + "\n");
    }
  }
  if (after) {
    ctx.insert(ctx.end(), start.begin(), start.end());
  } else {
    text("Assistant: ");
  }
  return ctx;
}

std::string openai_finish_reason(const Generation& g) {
  if (g.finish_reason == "length") return "length";
  if (g.finish_reason == "temptation") return "content_filter";
  return "stop";  // eos, a stop tag, a stop string
}

json prealign_extra(const Generation& g) {
  json tokens = json::array();
  for (const TokenRecord& r : g.tokens) {
    json t = json::object();
    for (const auto& [tag, p] : r.temptation) t[tag] = p;
    tokens.push_back({{"id", r.id},
                      {"text", replace_invalid_utf8(r.text)},
                      {"tag", r.is_tag},
                      {"state", r.state},
                      {"temptation", t},
                      {"temptation_total", r.temptation_total},
                      {"flags", r.flags}});
  }
  return {{"finish_reason", g.finish_reason},
          {"stopped_by", g.stopped_by},
          {"context_ids", g.context},  // what the model was conditioned on: prompt and start tags
          {"text_with_tags", replace_invalid_utf8(g.text_with_tags)},
          {"max_temptation", g.max_temptation},
          {"mean_temptation", g.mean_temptation},
          {"flags", g.flags},
          {"tokens", tokens}};
}

namespace {

// OpenAI's legacy completion logprobs, from the model's raw distribution.
json completion_logprobs(const Generation& g) {
  json tokens = json::array(), lps = json::array(), offsets = json::array();
  size_t offset = 0;
  for (const TokenRecord& r : g.tokens) {
    tokens.push_back(replace_invalid_utf8(r.text));
    lps.push_back(std::log(std::max(1e-45, double(r.p_raw))));
    offsets.push_back(offset);
    if (!r.is_tag) offset += r.text.size();
  }
  return {{"tokens", tokens}, {"token_logprobs", lps}, {"text_offset", offsets}, {"top_logprobs", nullptr}};
}

json chat_logprobs(const Generation& g) {
  json content = json::array();
  for (const TokenRecord& r : g.tokens) {
    json bytes = json::array();
    for (unsigned char c : r.text) bytes.push_back(int(c));
    content.push_back({{"token", replace_invalid_utf8(r.text)},
                       {"logprob", std::log(std::max(1e-45, double(r.p_raw)))},
                       {"bytes", bytes},
                       {"top_logprobs", json::array()}});
  }
  return {{"content", content}};
}

// Choices come prompt by prompt, n each; the n choices of a prompt share its tokens.
json usage(const std::vector<Generation>& choices, int n) {
  size_t prompt_tokens = 0, completion_tokens = 0;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (i % static_cast<size_t>(n) == 0) prompt_tokens += choices[i].context.size();
    completion_tokens += choices[i].tokens.size();
  }
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}};
}

}  // namespace

json completion_response(const std::vector<Generation>& choices, int n, bool logprobs, const ResponseMeta& meta) {
  json out = json::array();
  for (size_t i = 0; i < choices.size(); ++i) {
    const Generation& g = choices[i];
    out.push_back({{"index", i},
                   {"text", replace_invalid_utf8(g.text)},
                   {"finish_reason", openai_finish_reason(g)},
                   {"logprobs", logprobs ? completion_logprobs(g) : json(nullptr)},
                   {"prealign", prealign_extra(g)}});
  }
  return {{"id", meta.id},       {"object", "text_completion"},        {"created", meta.created},
          {"model", meta.model}, {"choices", out}, {"usage", usage(choices, n)}};
}

json chat_response(const std::vector<Generation>& choices, int n, bool logprobs, const ResponseMeta& meta) {
  json out = json::array();
  for (size_t i = 0; i < choices.size(); ++i) {
    const Generation& g = choices[i];
    out.push_back({{"index", i},
                   {"message", {{"role", "assistant"}, {"content", replace_invalid_utf8(g.text)}}},
                   {"finish_reason", openai_finish_reason(g)},
                   {"logprobs", logprobs ? chat_logprobs(g) : json(nullptr)},
                   {"prealign", prealign_extra(g)}});
  }
  return {{"id", meta.id},       {"object", "chat.completion"},       {"created", meta.created},
          {"model", meta.model}, {"choices", out}, {"usage", usage(choices, n)}};
}

namespace {

json token_extra(const TokenRecord& r) {
  json t = json::object();
  for (const auto& [tag, p] : r.temptation) t[tag] = p;
  return {{"id", r.id}, {"tag", r.is_tag}, {"state", r.state}, {"temptation", t},
          {"temptation_total", r.temptation_total}, {"flags", r.flags}};
}

}  // namespace

json completion_chunk(size_t index, const std::string& text, const TokenRecord& token, bool logprobs,
                      const ResponseMeta& meta) {
  json choice = {{"index", index}, {"text", text}, {"finish_reason", nullptr}, {"prealign", {{"token", token_extra(token)}}}};
  choice["logprobs"] = logprobs ? json{{"tokens", {replace_invalid_utf8(token.text)}},
                                       {"token_logprobs", {std::log(std::max(1e-45, double(token.p_raw)))}}}
                                : json(nullptr);
  return {{"id", meta.id}, {"object", "text_completion"}, {"created", meta.created}, {"model", meta.model},
          {"choices", {choice}}};
}

json chat_chunk(size_t index, const std::string& text, const TokenRecord& token, bool logprobs,
                const ResponseMeta& meta) {
  json choice = {{"index", index}, {"delta", {{"content", text}}}, {"finish_reason", nullptr},
                 {"prealign", {{"token", token_extra(token)}}}};
  if (logprobs)
    choice["logprobs"] = {{"content", {{{"token", replace_invalid_utf8(token.text)},
                                        {"logprob", std::log(std::max(1e-45, double(token.p_raw)))}}}}};
  return {{"id", meta.id}, {"object", "chat.completion.chunk"}, {"created", meta.created}, {"model", meta.model},
          {"choices", {choice}}};
}

json final_chunk(bool chat, size_t index, const Generation& g, const ResponseMeta& meta) {
  json extra = prealign_extra(g);
  extra.erase("tokens");  // streamed already, one by one
  json choice = {{"index", index}, {"finish_reason", openai_finish_reason(g)}, {"prealign", extra}};
  if (chat) choice["delta"] = json::object();
  else choice["text"] = "";
  return {{"id", meta.id}, {"object", chat ? "chat.completion.chunk" : "text_completion"}, {"created", meta.created},
          {"model", meta.model}, {"choices", {choice}}};
}

json error_body(const std::string& message, const std::string& type, const std::string& param) {
  return {{"error", {{"message", message}, {"type", type}, {"param", param.empty() ? json(nullptr) : json(param)},
                     {"code", nullptr}}}};
}

size_t find_stop(const std::string& text, const std::vector<std::string>& stops) {
  size_t best = std::string::npos;
  for (const auto& s : stops) best = std::min(best, text.find(s));
  return best;
}

bool apply_stop(Generation& g, const std::vector<std::string>& stops) {
  const size_t cut = find_stop(g.text, stops);
  if (cut == std::string::npos) return false;
  // Keep the records of tokens whose text ends before the cut; the token that
  // reaches into the stop string (and what follows) goes.
  size_t end = 0, kept = 0;
  std::string with_tags;
  for (; kept < g.tokens.size(); ++kept) {
    const TokenRecord& r = g.tokens[kept];
    const size_t len = r.is_tag ? 0 : r.text.size();
    if (end + len > cut) break;
    end += len;
    with_tags += r.text;
  }
  g.tokens.resize(kept);
  g.text_with_tags = with_tags + g.text.substr(end, cut - end);
  g.text = g.text.substr(0, cut);
  g.finish_reason = "stop_sequence";
  g.stopped_by.clear();
  return true;
}

std::string Utf8Stream::push(const std::string& bytes) {
  pending_ += bytes;
  // Hold back a lead byte (and its continuations) still waiting for the rest of its character.
  size_t ready = pending_.size();
  for (size_t back = 1; back <= 3 && back <= pending_.size(); ++back) {
    const unsigned char c = static_cast<unsigned char>(pending_[pending_.size() - back]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    if (utf8_sequence_length(c) > back) ready = pending_.size() - back;
    break;
  }
  std::string out = replace_invalid_utf8(std::string_view(pending_).substr(0, ready));
  pending_.erase(0, ready);
  return out;
}

std::string Utf8Stream::flush() {
  std::string out = replace_invalid_utf8(pending_);
  pending_.clear();
  return out;
}

}  // namespace prealign
