// "Light touch" measured, not assumed (seed 003): what a seed-prompted
// fine-tuning run changed, written to RUN/sft_report.json at its end.
//   - held-out response loss, before (the base) and after;
//   - KL(fine-tuned || base) per token on the held-out pairs' full sequences
//     (context included: how much the model moved where it was not trained
//     too), and optionally on a tokenized dataset (--kl-data);
//   - drift of tag behaviour: temptation (raw probability on tags the policy
//     bans) while decoding the held-out prompts greedily under the policy, base
//     vs fine-tuned, mean and max over generated tokens.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/json_io.hpp"
#include "decode/policy.hpp"
#include "model/llama.hpp"
#include "rl/sft_data.hpp"
#include "tokenizer/tokenizer.hpp"

namespace prealign {

struct ResponseLoss {
  double loss = 0;  // mean cross-entropy over response and end tokens
  uint64_t tokens = 0;
};
// Over all `examples`, in batches; the model is in eval mode for the pass.
ResponseLoss response_loss(LlamaModel& model, const std::vector<SftExample>& examples, int batch_size);

struct TemptationDrift {
  double mean = 0, max = 0;  // over every generated token's total temptation
  uint64_t tokens = 0;
  std::vector<double> per_prompt;  // each generation's mean temptation
  std::map<std::string, int> finish;  // finish reason -> generations
  ordered_json to_json() const;
};
// Greedy decoding of each example's context under `policy`, up to `max_tokens` tokens.
TemptationDrift measure_temptation(LlamaModel& model, const Policy& policy, const Tokenizer& tokenizer,
                                   const std::vector<SftExample>& examples, int max_tokens, int batch_size);

struct LightTouchInputs {
  LlamaModel tuned{nullptr}, base{nullptr};
  const Tokenizer* tokenizer = nullptr;
  const Policy* policy = nullptr;
  std::vector<SftExample> heldout;  // at most the prompts to decode for drift
  std::string kl_data;              // "" = no dataset KL
  int kl_sequences = 64, seq_len = 256, batch_size = 8, drift_tokens = 16, drift_prompts = 64;
};
// The "light_touch" block of sft_report.json.
ordered_json light_touch_report(LightTouchInputs& in);

// One paragraph for the terminal.
std::string describe_light_touch(const ordered_json& light_touch);

}  // namespace prealign
