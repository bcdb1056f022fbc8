// The decode loop: prefill the context once with the KV cache, then one
// position at a time: raw logits -> temptation -> sampler chain -> record.
#include "decode/generator.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/utf8.hpp"
#include "decode/sequence_decoder.hpp"

namespace prealign {

SamplerChain make_sampler_chain(const Policy& policy, const GenerateOptions& o, PolicyStage** policy_stage) {
  if (!(o.temperature >= 0.0) || !std::isfinite(o.temperature))
    fail("--temperature", "must be >= 0, got " + std::to_string(o.temperature), "0 means greedy decoding");
  if (o.top_k < 0) fail("--top-k", "must be >= 0 (0 = off), got " + std::to_string(o.top_k));
  if (!(o.top_p > 0.0 && o.top_p <= 1.0) || !std::isnormal(static_cast<float>(o.top_p)))
    fail("--top-p", "must be in (0, 1] (1 = off) and representable as a 32-bit float, got " + std::to_string(o.top_p));
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

std::vector<int> prompt_context(const Tokenizer& tokenizer, const Policy& policy, const std::string& prompt) {
  std::vector<int> ctx{Tokenizer::kBos};
  const auto& start = policy.start_tags();
  if (!policy.start_after_prompt()) ctx.insert(ctx.end(), start.begin(), start.end());
  // Tag parsing off: never yields a tag id. The prompt starts the text.
  const std::vector<int> text = tokenizer.encode_start(prompt);
  ctx.insert(ctx.end(), text.begin(), text.end());
  if (policy.start_after_prompt()) ctx.insert(ctx.end(), start.begin(), start.end());
  return ctx;
}

std::vector<int> Generator::context_for(const std::string& prompt) const {
  return prompt_context(tokenizer_, policy_, prompt);
}

namespace {

void check_context(const std::vector<int>& context, int64_t max_len) {
  if (context.empty()) fail("generate", "empty context", "start the context with BOS");
  if (static_cast<int64_t>(context.size()) > max_len)
    fail("prompt",
         std::to_string(context.size()) + " context tokens exceed the model's max_seq_len " + std::to_string(max_len),
         "shorten the prompt");
}

// Prefills the contexts, left-padded to one length (B, T); returns the last position's logits (B, V)
// and, when `residual` is given, each layer's residual stream there (B, C).
torch::Tensor prefill(LlamaModel& model, const std::vector<std::vector<int>>& contexts, KVCache& cache,
                      torch::Device device, std::vector<torch::Tensor>* residual) {
  size_t longest = 0;
  for (const auto& c : contexts) longest = std::max(longest, c.size());
  std::vector<int64_t> ids;
  std::vector<int64_t> pad;
  for (const auto& c : contexts) {
    pad.push_back(static_cast<int64_t>(longest - c.size()));
    ids.insert(ids.end(), longest - c.size(), Tokenizer::kBos);  // any id: padding is masked
    ids.insert(ids.end(), c.begin(), c.end());
  }
  bool any_pad = false;
  for (int64_t p : pad) any_pad = any_pad || p > 0;
  if (any_pad) cache.left_pad = pad;
  torch::Tensor tokens =
      torch::tensor(ids, torch::kLong).view({static_cast<int64_t>(contexts.size()), static_cast<int64_t>(longest)});
  ForwardOutput out = model->forward_full(tokens.to(device), &cache, residual != nullptr);
  if (residual) {
    residual->clear();
    for (const torch::Tensor& r : out.residual) residual->push_back(r.select(1, -1));
  }
  return out.logits.select(1, -1);  // (B, V)
}

// Row b of (B, V) logits as floats on the CPU.
std::vector<float> row_logits(const torch::Tensor& logits_cpu, int64_t b) {
  const float* p = logits_cpu.data_ptr<float>() + b * logits_cpu.size(1);
  return std::vector<float>(p, p + logits_cpu.size(1));
}

}  // namespace

std::vector<Generation> decode_batch(LlamaModel& model, const Policy& policy,
                                     const std::vector<std::vector<int>>& contexts, const std::vector<int>& states,
                                     const GenerateOptions& options, const std::vector<uint64_t>& seeds,
                                     const std::function<std::string(int)>& token_text, const TokenCallback& on_token,
                                     const ResidualMonitor& monitor) {
  if (options.max_new_tokens < 0) fail("--max-new-tokens", "must be >= 0");
  if (states.size() != contexts.size() || seeds.size() != contexts.size())
    fail("decode_batch", "contexts, states and seeds differ in number");
  const int vocab = model->config().vocab_size;
  const int64_t max_len = model->config().max_seq_len;
  if (policy.vocab_size() != vocab)
    fail("policy " + policy.name(), "built for a vocabulary of " + std::to_string(policy.vocab_size()) +
                                        " tokens, the model has " + std::to_string(vocab));
  std::vector<SequenceDecoder> seqs;
  seqs.reserve(contexts.size());
  for (size_t i = 0; i < contexts.size(); ++i) {
    check_context(contexts[i], max_len);
    seqs.emplace_back(policy, options, contexts[i], states[i], seeds[i]);
  }
  if (contexts.empty() || options.max_new_tokens == 0) {
    std::vector<Generation> out;
    for (auto& s : seqs) out.push_back(s.take());
    return out;
  }

  torch::NoGradGuard no_grad;
  model->eval();
  const torch::Device device = model->parameters().front().device();
  KVCache cache;
  std::vector<int64_t> rows(seqs.size());  // cache row -> sequence index
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = static_cast<int64_t>(i);
  std::vector<torch::Tensor> residual;  // per layer (B', C), only with a monitor
  torch::Tensor logits = prefill(model, contexts, cache, device, monitor ? &residual : nullptr);  // (B, V)
  while (true) {
    torch::Tensor cpu = logits;  // (B, V); on the CPU in float32 already in the usual case
    if (cpu.device() != torch::kCPU || cpu.scalar_type() != torch::kFloat) cpu = cpu.to(torch::kCPU, torch::kFloat);
    if (!cpu.is_contiguous()) cpu = cpu.contiguous();
    std::vector<int64_t> next_tokens, still_running;
    for (size_t r = 0; r < rows.size(); ++r) {
      const size_t index = static_cast<size_t>(rows[r]);
      SequenceDecoder& s = seqs[index];
      auto read_monitor = [&](TokenRecord& token) {  // before the policy's rules read the token
        std::vector<torch::Tensor> row;
        for (const torch::Tensor& layer : residual) row.push_back(layer[static_cast<int64_t>(r)]);
        monitor(index, row, token);
      };
      const int tok = s.step(row_logits(cpu, static_cast<int64_t>(r)), max_len, token_text,
                             monitor ? std::function<void(TokenRecord&)>(read_monitor) : nullptr);
      if (on_token && !on_token(index, s.last_token())) s.finish("cancelled");
      // Left padding makes the shared cache longer than a short sequence: when
      // it is full, nobody can go on.
      if (cache.length >= max_len) s.finish("length");
      if (s.done()) continue;
      still_running.push_back(static_cast<int64_t>(r));
      next_tokens.push_back(tok);
    }
    if (still_running.empty()) break;
    if (still_running.size() < rows.size()) {  // finished sequences leave the batch
      cache.select_rows(still_running);
      std::vector<int64_t> kept;
      for (int64_t r : still_running) kept.push_back(rows[static_cast<size_t>(r)]);
      rows = kept;
    }
    // (B', 1) next inputs, written in place: torch::tensor(vector) costs a few
    // dispatches per token, which shows on the tiny presets.
    torch::Tensor step = torch::empty({static_cast<int64_t>(next_tokens.size()), 1}, torch::kLong);
    std::copy(next_tokens.begin(), next_tokens.end(), step.data_ptr<int64_t>());
    if (device != torch::kCPU) step = step.to(device);
    ForwardOutput out = model->forward_full(step, &cache, bool(monitor));
    logits = out.logits.select(1, 0);  // (B', V)
    residual.clear();
    for (const torch::Tensor& layer : out.residual) residual.push_back(layer.select(1, 0));
  }
  std::vector<Generation> out;
  for (auto& s : seqs) out.push_back(s.take());
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
