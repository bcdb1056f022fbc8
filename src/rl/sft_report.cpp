#include "rl/sft_report.hpp"

#include <algorithm>
#include <cstdio>

#include "decode/generator.hpp"
#include "eval/kl.hpp"
#include "eval/stats.hpp"
#include "model/eval_mode.hpp"
#include "train/objective.hpp"

namespace prealign {

ResponseLoss response_loss(LlamaModel& model, const std::vector<SftExample>& examples, int batch_size) {
  torch::NoGradGuard no_grad;
  EvalModeScope eval_mode(model);
  const auto device = model->parameters().front().device();
  double sum = 0;
  ResponseLoss r;
  for (size_t first = 0; first < examples.size(); first += size_t(batch_size)) {
    std::vector<const SftExample*> rows;
    for (size_t i = first; i < std::min(examples.size(), first + size_t(batch_size)); ++i) rows.push_back(&examples[i]);
    const SftBatch b = collate(rows, device);
    auto ce = token_cross_entropy(model->forward(b.inputs), b.targets);  // (B, T)
    sum += (ce * b.mask.to(ce.dtype())).sum().item<double>();
    r.tokens += uint64_t(b.response_tokens);
  }
  r.loss = r.tokens ? sum / double(r.tokens) : 0.0;
  return r;
}

ordered_json TemptationDrift::to_json() const {
  ordered_json j;
  j["mean"] = mean;
  j["max"] = max;
  j["tokens"] = tokens;
  j["generations"] = per_prompt.size();
  if (per_prompt.size() > 1) j["mean_of_generations"] = bootstrap(per_prompt, mean_of).to_json();
  j["finish"] = finish;
  return j;
}

TemptationDrift measure_temptation(LlamaModel& model, const Policy& policy, const Tokenizer& tokenizer,
                                   const std::vector<SftExample>& examples, int max_tokens, int batch_size) {
  torch::NoGradGuard no_grad;
  EvalModeScope eval_mode(model);
  GenerateOptions g;
  g.greedy = true;
  g.max_new_tokens = max_tokens;
  const auto text_of = [&](int id) { return tokenizer.token_bytes(id); };
  TemptationDrift d;
  double sum = 0;
  for (size_t first = 0; first < examples.size(); first += size_t(batch_size)) {
    std::vector<std::vector<int>> contexts;
    for (size_t i = first; i < std::min(examples.size(), first + size_t(batch_size)); ++i)
      contexts.push_back(examples[i].context());
    // every context ends where the policy's start tags leave it (chat_context)
    const std::vector<int> states(contexts.size(), policy.state_after_start());
    const std::vector<uint64_t> seeds(contexts.size(), 0);
    for (const Generation& gen : decode_batch(model, policy, contexts, states, g, seeds, text_of)) {
      double own = 0;
      for (const TokenRecord& t : gen.tokens) {
        own += t.temptation_total;
        d.max = std::max(d.max, double(t.temptation_total));
      }
      sum += own;
      d.tokens += gen.tokens.size();
      d.per_prompt.push_back(gen.tokens.empty() ? 0.0 : own / double(gen.tokens.size()));
      d.finish[gen.finish_reason]++;
    }
  }
  d.mean = d.tokens ? sum / double(d.tokens) : 0.0;
  return d;
}

ordered_json light_touch_report(LightTouchInputs& in) {
  ordered_json j;
  std::vector<std::vector<int>> sequences;
  for (const SftExample& e : in.heldout) sequences.push_back(e.tokens);
  j["kl_heldout"] = kl_on_sequences(in.tuned, in.base, sequences, in.batch_size).to_json();
  if (!in.kl_data.empty()) {
    ordered_json k = kl_on_sequences(in.tuned, in.base, dataset_windows(in.kl_data, in.seq_len, in.kl_sequences),
                                     in.batch_size).to_json();
    k["data"] = in.kl_data;
    j["kl_data"] = k;
  }
  std::vector<SftExample> prompts(in.heldout.begin(),
                                  in.heldout.begin() + long(std::min<size_t>(in.heldout.size(), size_t(in.drift_prompts))));
  const TemptationDrift before = measure_temptation(in.base, *in.policy, *in.tokenizer, prompts, in.drift_tokens, in.batch_size);
  const TemptationDrift after = measure_temptation(in.tuned, *in.policy, *in.tokenizer, prompts, in.drift_tokens, in.batch_size);
  ordered_json t;
  t["policy"] = in.policy->name();
  t["decoding"] = "greedy, " + std::to_string(in.drift_tokens) + " tokens at most, held-out prompts";
  t["before"] = before.to_json();
  t["after"] = after.to_json();
  t["mean_change"] = after.mean - before.mean;
  t["max_change"] = after.max - before.max;
  j["temptation"] = t;
  return j;
}

std::string describe_light_touch(const ordered_json& lt) {
  char line[512];
  const auto& t = lt.at("temptation");
  std::snprintf(line, sizeof line,
                "light touch: KL(tuned || base) %.4f nats/token on %llu held-out positions (max %.3f)%s\n"
                "             temptation under %s: mean %.4f -> %.4f, max %.4f -> %.4f (%llu -> %llu tokens)",
                lt.at("kl_heldout").at("mean").get<double>(),
                static_cast<unsigned long long>(lt.at("kl_heldout").at("positions").get<uint64_t>()),
                lt.at("kl_heldout").at("max_position").get<double>(),
                lt.contains("kl_data")
                    ? (", " + std::to_string(lt.at("kl_data").at("mean").get<double>()) + " on --kl-data").c_str()
                    : "",
                t.at("policy").get<std::string>().c_str(), t.at("before").at("mean").get<double>(),
                t.at("after").at("mean").get<double>(), t.at("before").at("max").get<double>(),
                t.at("after").at("max").get<double>(),
                static_cast<unsigned long long>(t.at("before").at("tokens").get<uint64_t>()),
                static_cast<unsigned long long>(t.at("after").at("tokens").get<uint64_t>()));
  return line;
}

}  // namespace prealign
