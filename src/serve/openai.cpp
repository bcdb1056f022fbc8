#include "serve/openai.hpp"

#include <cmath>

#include "core/utf8.hpp"

namespace prealign {

std::string openai_finish_reason(const Generation& g) {
  if (g.finish_reason == "length") return "length";
  if (g.finish_reason == "temptation" || g.finish_reason == "rule") return "content_filter";
  // Not one of OpenAI's values: the server shut down before the choice ended
  // (vLLM says "abort"). Nothing else would be true: it did not stop, nor reach a length.
  if (g.finish_reason == "cancelled") return "cancelled";
  return "stop";  // eos, a stop tag, a stop string
}

namespace {

double raw_logprob(float p) { return std::log(std::max(1e-45, double(p))); }

json token_extra(const TokenRecord& r) {
  json t = json::object();
  for (const auto& [tag, p] : r.temptation) t[tag] = p;
  json rules = json::array();
  for (const RuleFiring& f : r.rules) rules.push_back({{"rule", f.rule}, {"action", f.action}});
  json extra = {{"id", r.id},       {"tag", r.is_tag},    {"state", r.state}, {"temptation", t},
                {"temptation_total", r.temptation_total}, {"flags", r.flags}, {"rules", rules}};
  if (!r.policy.empty()) extra["policy"] = r.policy;
  return extra;
}

json bytes_of(const std::string& s) {
  json bytes = json::array();
  for (unsigned char c : s) bytes.push_back(int(c));
  return bytes;
}

}  // namespace

json prealign_extra(const Generation& g, const std::vector<AlignedToken>& aligned) {
  json tokens = json::array();
  for (const AlignedToken& a : aligned) {
    json t = token_extra(a.record);
    t["text"] = replace_invalid_utf8(a.record.text);
    t["text_offset"] = a.text_offset;
    tokens.push_back(std::move(t));
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

json completion_logprobs(const std::vector<AlignedToken>& aligned, const SamplingRequest& request) {
  json tokens = json::array(), lps = json::array(), offsets = json::array(), tops = json::array();
  for (const AlignedToken& a : aligned) {
    if (a.record.is_tag) continue;
    tokens.push_back(a.piece);
    lps.push_back(raw_logprob(a.record.p_raw));
    offsets.push_back(a.text_offset);
    json top = json::object();
    for (const RawAlternative& alt : a.record.top_raw) {
      const std::string key = token_display(alt.text);
      if (!top.contains(key)) top[key] = raw_logprob(alt.p);  // two tokens may render alike: keep the likelier
    }
    tops.push_back(std::move(top));
  }
  return {{"tokens", tokens},
          {"token_logprobs", lps},
          {"top_logprobs", request.top_logprobs > 0 ? tops : json(nullptr)},
          {"text_offset", offsets}};
}

json chat_logprobs(const std::vector<AlignedToken>& aligned, const SamplingRequest& /*request*/) {
  json content = json::array();
  for (const AlignedToken& a : aligned) {
    if (a.record.is_tag) continue;
    json top = json::array();
    for (const RawAlternative& alt : a.record.top_raw)
      top.push_back({{"token", token_display(alt.text)}, {"logprob", raw_logprob(alt.p)}, {"bytes", bytes_of(alt.text)}});
    // "token" is the piece of text (joins to the content); "bytes" the token's own bytes.
    content.push_back({{"token", a.piece}, {"logprob", raw_logprob(a.record.p_raw)}, {"bytes", bytes_of(a.record.text)},
                       {"top_logprobs", top}});
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

json completion_response(const std::vector<Generation>& choices, const SamplingRequest& request,
                         const ResponseMeta& meta) {
  json out = json::array();
  for (size_t i = 0; i < choices.size(); ++i) {
    const Generation& g = choices[i];
    const std::vector<AlignedToken> aligned = align_tokens(g);
    out.push_back({{"index", i},
                   {"text", replace_invalid_utf8(g.text)},
                   {"finish_reason", openai_finish_reason(g)},
                   {"logprobs", request.logprobs ? completion_logprobs(aligned, request) : json(nullptr)},
                   {"prealign", prealign_extra(g, aligned)}});
  }
  return {{"id", meta.id},       {"object", "text_completion"}, {"created", meta.created},
          {"model", meta.model}, {"choices", out},              {"usage", usage(choices, request.n)}};
}

json chat_response(const std::vector<Generation>& choices, const SamplingRequest& request, const ResponseMeta& meta) {
  json out = json::array();
  for (size_t i = 0; i < choices.size(); ++i) {
    const Generation& g = choices[i];
    const std::vector<AlignedToken> aligned = align_tokens(g);
    out.push_back({{"index", i},
                   {"message", {{"role", "assistant"}, {"content", replace_invalid_utf8(g.text)}}},
                   {"finish_reason", openai_finish_reason(g)},
                   {"logprobs", request.logprobs ? chat_logprobs(aligned, request) : json(nullptr)},
                   {"prealign", prealign_extra(g, aligned)}});
  }
  return {{"id", meta.id},       {"object", "chat.completion"}, {"created", meta.created},
          {"model", meta.model}, {"choices", out},              {"usage", usage(choices, request.n)}};
}

namespace {

json chunk_envelope(bool chat, json choices, const ResponseMeta& meta) {
  return {{"id", meta.id},       {"object", chat ? "chat.completion.chunk" : "text_completion"},
          {"created", meta.created}, {"model", meta.model}, {"choices", std::move(choices)}};
}

}  // namespace

json completion_chunk(const StreamPiece& piece, const SamplingRequest& request, const ResponseMeta& meta) {
  json choice = {{"index", piece.index}, {"text", piece.text}, {"finish_reason", nullptr}};
  choice["logprobs"] = request.logprobs ? completion_logprobs(piece.released, request) : json(nullptr);
  if (piece.token) choice["prealign"] = {{"token", token_extra(*piece.token)}};
  return chunk_envelope(false, json::array({choice}), meta);
}

json chat_chunk(const StreamPiece& piece, const SamplingRequest& request, const ResponseMeta& meta) {
  json delta = {{"content", piece.text}};
  if (piece.first) delta["role"] = "assistant";  // the client's accumulator needs it once per choice
  json choice = {{"index", piece.index}, {"delta", delta}, {"finish_reason", nullptr}};
  choice["logprobs"] = request.logprobs ? chat_logprobs(piece.released, request) : json(nullptr);
  if (piece.token) choice["prealign"] = {{"token", token_extra(*piece.token)}};
  return chunk_envelope(true, json::array({choice}), meta);
}

json final_chunk(bool chat, size_t index, bool first, const Generation& g, const ResponseMeta& meta) {
  json extra = prealign_extra(g, {});
  extra.erase("tokens");  // streamed already, one by one
  json choice = {{"index", index}, {"finish_reason", openai_finish_reason(g)}, {"logprobs", nullptr}, {"prealign", extra}};
  if (chat) {
    choice["delta"] = first ? json{{"role", "assistant"}} : json::object();
  } else {
    choice["text"] = "";
  }
  return chunk_envelope(chat, json::array({choice}), meta);
}

json usage_chunk(bool chat, const std::vector<Generation>& choices, int n, const ResponseMeta& meta) {
  json j = chunk_envelope(chat, json::array(), meta);
  j["usage"] = usage(choices, n);
  return j;
}

json error_body(const std::string& message, const std::string& type, const std::string& param,
                const std::string& code) {
  return {{"error", {{"message", message}, {"type", type}, {"param", param.empty() ? json(nullptr) : json(param)},
                     {"code", code.empty() ? json(nullptr) : json(code)}}}};
}

size_t find_stop(const std::string& text, const std::vector<std::string>& stops) {
  size_t best = std::string::npos;
  for (const auto& s : stops) best = std::min(best, text.find(s));
  return best;
}

bool apply_stop(Generation& g, const std::vector<std::string>& stops) {
  const size_t cut = find_stop(g.text, stops);
  if (cut == std::string::npos) return false;
  // Keep the records of tokens whose text begins before the cut (the one
  // reaching into the stop string keeps its text before it), so the records'
  // texts still join to the text.
  size_t end = 0, kept = 0;
  std::string with_tags;
  for (; kept < g.tokens.size(); ++kept) {
    TokenRecord& r = g.tokens[kept];
    const size_t len = r.is_tag ? 0 : r.text.size();
    if (end + len > cut) {
      if (end < cut) {
        r.text.resize(cut - end);
        with_tags += r.text;
        ++kept;
      }
      break;
    }
    end += len;
    with_tags += r.text;
  }
  g.tokens.resize(kept);
  g.text_with_tags = with_tags;
  g.text = g.text.substr(0, cut);
  g.finish_reason = "stop_sequence";
  g.stopped_by.clear();
  return true;
}

}  // namespace prealign
