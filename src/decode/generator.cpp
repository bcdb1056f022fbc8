// Generation over the decode loop (decode/batch_engine.hpp): prompts to
// contexts, the sampler chain a sequence's options describe, and the JSON record.
#include "decode/generator.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>

#include "core/error.hpp"
#include "core/utf8.hpp"
#include "decode/batch_engine.hpp"

namespace prealign {

SamplerChain make_sampler_chain(const Policy& policy, const GenerateOptions& o, PolicyStage** policy_stage,
                                int context_length) {
  if (!(o.temperature >= 0.0) || !std::isfinite(o.temperature))
    fail("--temperature", "must be >= 0, got " + std::to_string(o.temperature), "0 means greedy decoding");
  if (o.top_k < 0) fail("--top-k", "must be >= 0 (0 = off), got " + std::to_string(o.top_k));
  if (!(o.top_p > 0.0 && o.top_p <= 1.0) || !std::isnormal(static_cast<float>(o.top_p)))
    fail("--top-p", "must be in (0, 1] (1 = off) and representable as a 32-bit float, got " + std::to_string(o.top_p));
  if (o.min_length < 0 || o.max_length < 0) fail("--min-length/--max-length", "must be >= 0 (0 = off)");
  if (o.max_length > 0 && o.min_length > o.max_length)
    fail("--min-length", "is " + std::to_string(o.min_length) + ", more than --max-length " + std::to_string(o.max_length));
  const bool greedy = o.greedy || o.temperature == 0.0;
  // The stages work in float: a temperature that is 0, subnormal or inf as a
  // float would divide the logits into inf and fail in the middle of decoding.
  if (!greedy && !std::isnormal(static_cast<float>(o.temperature)))
    fail("--temperature", "must be 0 (greedy) or a normal 32-bit float, got " + json(o.temperature).dump(),
         "temperatures below ~1e-38 sample like 0: use 0");
  SamplerChain chain;
  auto stage = std::make_unique<PolicyStage>(policy);
  if (policy_stage) *policy_stage = stage.get();
  chain.add(std::move(stage));
  if (o.min_length > context_length) chain.add(make_min_length(policy.eos_id(), o.min_length, context_length));
  if (!greedy && o.temperature != 1.0) chain.add(make_temperature(static_cast<float>(o.temperature)));
  if (o.top_k > 0) chain.add(make_top_k(o.top_k));
  if (o.top_p < 1.0) chain.add(make_top_p(static_cast<float>(o.top_p)));
  chain.add(greedy ? make_greedy() : make_distribution());
  return chain;
}

Generator::Generator(LlamaModel model, const Tokenizer& tokenizer, const Policy& policy)
    : model_(std::move(model)), tokenizer_(tokenizer), policy_(policy) {
  if (!model_) fail("generate", "no model");
  const int v = model_->config().vocab_size;
  if (v != tokenizer_.vocab_size())
    fail("generate",
         "the model's vocabulary (" + std::to_string(v) + ") differs from the tokenizer's (" +
             std::to_string(tokenizer_.vocab_size()) + ")",
         "load the tokenizer from the same checkpoint directory as the model");
  // A policy built for another vocabulary would ban the wrong ids.
  bool same = policy_.tags().size() == tokenizer_.tag_ids().size();
  for (int id : tokenizer_.tag_ids())
    same = same && policy_.is_tag(id) && policy_.tag_name(id) == tokenizer_.tag_name(id);
  if (!same)
    fail("policy " + policy_.name(), "was built for a different tag vocabulary than this tokenizer's",
         "build the policy with TagVocabulary::of(tokenizer)");
}

std::vector<int> prompt_context(const Tokenizer& tokenizer, const Policy& policy, const std::string& prompt,
                                const std::vector<int>& context_tags) {
  std::vector<int> ctx{Tokenizer::kBos};
  ctx.insert(ctx.end(), context_tags.begin(), context_tags.end());
  const auto& start = policy.start_tags();
  if (!policy.start_after_prompt()) ctx.insert(ctx.end(), start.begin(), start.end());
  // Tag parsing off: never yields a tag id. The prompt starts the text.
  const std::vector<int> text = tokenizer.encode_start(prompt);
  ctx.insert(ctx.end(), text.begin(), text.end());
  if (policy.start_after_prompt()) ctx.insert(ctx.end(), start.begin(), start.end());
  return ctx;
}

std::vector<int> Generator::context_for(const std::string& prompt) const {
  return prompt_context(tokenizer_, policy_, prompt, context_tags_);
}

std::vector<Generation> decode_batch(LlamaModel& model, const Policy& policy,
                                     const std::vector<std::vector<int>>& contexts, const std::vector<int>& states,
                                     const GenerateOptions& options, const std::vector<uint64_t>& seeds,
                                     const std::function<std::string(int)>& token_text, const TokenCallback& on_token,
                                     const ResidualMonitor& monitor) {
  if (states.size() != contexts.size() || seeds.size() != contexts.size())
    fail("decode_batch", "contexts, states and seeds differ in number");
  BatchEngine engine(model, token_text);
  // The caller's policy outlives this call: shared without being owned.
  const std::shared_ptr<const Policy> shared(std::shared_ptr<const Policy>(), &policy);
  std::map<SequenceId, size_t> index;
  for (size_t i = 0; i < contexts.size(); ++i) {
    SequenceSpec spec{contexts[i], states[i], shared, options, seeds[i], nullptr, nullptr};
    if (on_token) spec.on_token = [&on_token, i](const TokenRecord& t) { return on_token(i, t); };
    if (monitor)
      spec.monitor = [&monitor, i](const std::vector<torch::Tensor>& r, TokenRecord& t) { monitor(i, r, t); };
    index[engine.add(std::move(spec))] = i;
  }
  std::vector<Generation> out(contexts.size());
  while (engine.active() > 0)
    for (FinishedSequence& f : engine.step()) {
      if (f.error) std::rethrow_exception(f.error);
      out[index.at(f.id)] = std::move(f.generation);
    }
  return out;
}

Generation decode_context(LlamaModel& model, const Policy& policy, const std::vector<int>& context, int state,
                          const GenerateOptions& options, const std::function<std::string(int)>& token_text) {
  return decode_batch(model, policy, {context}, {state}, options, {options.seed}, token_text).front();
}

Generation Generator::generate(const std::string& prompt, const GenerateOptions& options) {
  return generate_batch({prompt}, options, {options.seed}).front();
}

std::vector<Generation> Generator::generate_batch(const std::vector<std::string>& prompts,
                                                  const GenerateOptions& options, const std::vector<uint64_t>& seeds,
                                                  const TokenCallback& on_token, const ResidualMonitor& monitor) {
  std::vector<std::vector<int>> contexts;
  for (const auto& p : prompts) contexts.push_back(context_for(p));
  std::vector<int> states(prompts.size(), policy_.state_after_start());
  std::vector<Generation> out = decode_batch(model_, policy_, contexts, states, options, seeds,
                                             [this](int id) { return tokenizer_.token_bytes(id); }, on_token, monitor);
  for (size_t i = 0; i < out.size(); ++i) out[i].prompt = prompts[i];
  return out;
}

// ---- JSON -------------------------------------------------------------------

json generation_to_json(const Generation& g) {
  json tokens = json::array();
  for (const TokenRecord& r : g.tokens) {
    json t = json::object();
    for (const auto& [tag, p] : r.temptation) t[tag] = p;
    json monitor = json::object();
    for (const auto& [name, v] : r.monitor) monitor[name] = v;
    json rec = {
        {"text", replace_invalid_utf8(r.text)}, {"id", r.id},       {"tag", r.is_tag}, {"state", r.state},
        {"p", r.p_chosen},           {"p_raw", r.p_raw}, {"temptation", t}, {"temptation_total", r.temptation_total},
        {"flags", r.flags}};
    json rules = json::array();
    for (const RuleFiring& f : r.rules) rules.push_back({{"rule", f.rule}, {"action", f.action}});
    rec["rules"] = rules;
    if (!r.policy.empty()) rec["policy"] = r.policy;
    if (!r.monitor.empty()) rec["monitor"] = monitor;
    if (!is_valid_utf8(r.text)) {  // keep the exact bytes of a partial character
      json bytes = json::array();
      for (unsigned char c : r.text) bytes.push_back(static_cast<int>(c));
      rec["bytes"] = bytes;
    }
    tokens.push_back(std::move(rec));
  }
  return {{"prompt", replace_invalid_utf8(g.prompt)},
          {"text", replace_invalid_utf8(g.text)},
          {"text_with_tags", replace_invalid_utf8(g.text_with_tags)},
          {"finish_reason", g.finish_reason},
          {"stopped_by", g.stopped_by},
          {"context_tokens", g.context.size()},
          {"generated_tokens", g.tokens.size()},
          {"max_temptation", g.max_temptation},
          {"mean_temptation", g.mean_temptation},
          {"flags", g.flags},
          {"tokens", tokens}};
}

}  // namespace prealign
