#include "rl/sft_data.hpp"

#include "core/error.hpp"
#include "core/lines.hpp"
#include "rl/task_prompt.hpp"
#include "train/objective.hpp"

namespace prealign {
namespace {

std::string string_field(const json& j, const char* key, const std::string& where, bool required) {
  if (!j.contains(key) || (!required && j.at(key).is_null())) {
    if (required) fail(where, std::string("missing field \"") + key + "\"", "a pair is {\"prompt\": ..., \"response\": ...}");
    return "";
  }
  if (!j.at(key).is_string())
    fail(where, std::string("field \"") + key + "\" must be a string, got " + j.at(key).type_name());
  return j.at(key).get<std::string>();
}

}  // namespace

std::vector<SftPair> read_pairs(const std::string& path) {
  std::vector<SftPair> out;
  LineReader in(path);
  for (std::string line; in.next(line);) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    SftPair p;
    p.where = in.where();
    const json j = parse_json(line, p.where);
    if (!j.is_object()) fail(p.where, "a pair must be a JSON object {\"prompt\": ..., \"response\": ...}");
    p.prompt = string_field(j, "prompt", p.where, true);
    p.response = string_field(j, "response", p.where, true);
    p.system = string_field(j, "system", p.where, false);
    p.id = j.contains("id") && j.at("id").is_string() ? j.at("id").get<std::string>() : p.where;
    if (p.response.empty()) fail(p.where, "the response is empty", "a pair needs a response to train on");
    out.push_back(std::move(p));
  }
  if (out.empty()) fail(path, "holds no pairs", "one JSON object per line: {\"prompt\": ..., \"response\": ...}");
  return out;
}

int sft_end_token(const Policy& policy) {
  if (policy.start_after_prompt() && !policy.stop_tags().empty()) return policy.stop_tags().front();
  return policy.eos_id();
}

SftExample make_example(const SftPair& pair, const Tokenizer& tokenizer, const Policy& policy,
                        const std::string& seed_prompt) {
  TaskRecord task;  // the pair asked as a task is asked: one template for SFT, RLVR and eval
  task.system = pair.system;
  task.prompt = pair.prompt;
  SftExample e;
  e.id = pair.id;
  e.where = pair.where;
  e.tokens = task_context(task, tokenizer, policy, seed_prompt);
  e.response_start = e.tokens.size();
  const std::vector<int> response = tokenizer.encode(pair.response);  // human text: tag parsing off
  e.tokens.insert(e.tokens.end(), response.begin(), response.end());
  e.tokens.push_back(sft_end_token(policy));
  return e;
}

std::vector<SftExample> make_examples(const std::vector<SftPair>& pairs, const Tokenizer& tokenizer,
                                      const Policy& policy, const std::string& seed_prompt, int max_tokens) {
  std::vector<SftExample> out;
  out.reserve(pairs.size());
  for (const SftPair& p : pairs) {
    SftExample e = make_example(p, tokenizer, policy, seed_prompt);
    if (static_cast<int64_t>(e.tokens.size()) > max_tokens)
      fail(p.where, "the pair is " + std::to_string(e.tokens.size()) + " tokens with its context (" +
                        std::to_string(e.response_start) + " context, " +
                        std::to_string(e.tokens.size() - e.response_start) + " response and end), over the " +
                        std::to_string(max_tokens) + " that --seq-len " + std::to_string(max_tokens - 1) + " allows",
           "raise --seq-len (up to the model's context) or shorten the pair; pairs are refused, not cut, so that "
           "the seed prompt and the policy's start tags stay in every example");
    out.push_back(std::move(e));
  }
  return out;
}

SftBatch collate(const std::vector<const SftExample*>& examples, torch::Device device) {
  const int64_t B = static_cast<int64_t>(examples.size());
  int64_t T = 1;
  for (const SftExample* e : examples) T = std::max<int64_t>(T, static_cast<int64_t>(e->tokens.size()) - 1);
  auto inputs = torch::full({B, T}, int64_t(Tokenizer::kEos), torch::kInt64);  // (B, T)
  auto targets = torch::zeros({B, T}, torch::kInt64);                          // (B, T)
  auto mask = torch::zeros({B, T}, torch::kBool);                              // (B, T)
  auto in = inputs.accessor<int64_t, 2>();
  auto tg = targets.accessor<int64_t, 2>();
  auto mk = mask.accessor<bool, 2>();
  SftBatch b;
  for (int64_t i = 0; i < B; ++i) {
    const SftExample& e = *examples[static_cast<size_t>(i)];
    for (size_t t = 0; t + 1 < e.tokens.size(); ++t) {
      in[i][int64_t(t)] = e.tokens[t];
      tg[i][int64_t(t)] = e.tokens[t + 1];
      // target t is token t+1: trained when it is a response or end token
      mk[i][int64_t(t)] = t + 1 >= e.response_start;
      b.response_tokens += t + 1 >= e.response_start;
    }
  }
  b.inputs = inputs.to(device);
  b.targets = targets.to(device);
  b.mask = mask.to(device);
  return b;
}

torch::Tensor sft_loss(const torch::Tensor& logits, const SftBatch& batch) {
  return masked_cross_entropy(logits, batch.targets, batch.mask);
}

}  // namespace prealign
