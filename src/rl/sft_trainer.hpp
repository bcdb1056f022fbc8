// `prealign train --objective sft`: seed-prompted light fine-tuning (seed 003,
// step 1). A checkpoint (--init-from) is fine-tuned on (prompt, response) pairs,
// each shown after the seed prompt exactly where the chat template puts it for
// the checkpoint's policy (rl/sft_data.hpp), with the loss on the response
// only. The loop is the plain single-process one: AdamW, warmup + cosine,
// gradient clipping, held-out response loss, checkpoints with the base's
// tokenizer, tagset and policy, exact resume. At the end the run measures how
// light its touch was (rl/sft_report.hpp) and writes RUN/sft_report.json.
#pragma once
#include <set>
#include <string>

#include "core/json_io.hpp"
#include "train/trainer.hpp"

namespace prealign {

// The flags `train` has only for --objective sft (beside TrainOptions).
struct SftOptions {
  std::string seed_prompt;     // text file placed before every example ("" = none)
  std::string eval_data;       // held-out pairs file ("" = a fraction of --data)
  double eval_fraction = 0.1;  // share of --data held out when --eval-data is not given
  std::string kl_data;         // a tokenized dataset to measure KL(tuned || base) on too
  int kl_sequences = 64;
  int drift_tokens = 16;       // greedy tokens decoded per held-out prompt for temptation drift
  int drift_prompts = 64;

  template <class V>
  void visit(V& v) {
    v("seed_prompt", seed_prompt,
      "sft: a text file placed before every example (behind the policy's start tags, e.g. inside <AI>)");
    v("eval_data", eval_data, "sft: held-out pairs JSONL (default: --eval-fraction of --data)");
    v("eval_fraction", eval_fraction, "sft: share of --data held out for the held-out response loss and the report");
    v("kl_data", kl_data, "sft: a tokenized dataset directory: KL(tuned || base) on its text too, in the report");
    v("kl_sequences", kl_sequences, "sft: --kl-data windows of --seq-len tokens to measure");
    v("drift_tokens", drift_tokens, "sft: greedy tokens per held-out prompt for the temptation drift");
    v("drift_prompts", drift_prompts, "sft: held-out prompts decoded for the temptation drift");
  }
};

struct SftResult {
  int64_t step = 0;
  double final_loss = 0;                      // last step's training loss
  double heldout_before = 0, heldout_after = 0;  // held-out response loss of the base and of the tuned model
  std::string checkpoint, report;             // RUN/checkpoint, RUN/sft_report.json
  ordered_json report_json;
};

// `given`: option names set on the command line (TrainOptions and SftOptions
// fields), as train() takes them; they decide what a --resume may change.
SftResult train_sft(TrainOptions options, SftOptions sft, const std::set<std::string>& given);

}  // namespace prealign
