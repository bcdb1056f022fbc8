// Supervised fine-tuning data (seed 003, step 1): (prompt, response) pairs
// become token sequences a model is trained on, with a mask that marks the
// response. The context is exactly what the model sees when the same task is
// put to it later (task_context: the chat template with the seed prompt behind
// the policy's start tags), so fine-tuning, RLVR and evaluation ask alike.
//
//   PAIRS.jsonl, one object per line (docs/sft.md):
//     {"prompt": "What is 3 + 4? ...", "response": "Answer: 7", "system": "...", "id": "p1"}
//   system and id are optional; other fields are ignored.
//
//   sequence = context ++ encode(response) ++ [end]
//   end      = the policy's first stop tag when it starts after the prompt
//              (ai_mode: </AI>), else EOS
//   loss     = cross-entropy on the response and end tokens only.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "decode/policy.hpp"
#include "tokenizer/tokenizer.hpp"

namespace prealign {

struct SftPair {
  std::string id;      // the record's "id", else "<file>:<line>"
  std::string system;  // "" = no system turn
  std::string prompt;
  std::string response;
  std::string where;   // file:line
};

// Every pair of a PAIRS.jsonl file; blank lines are skipped. A malformed record
// (not an object, a missing or non-string prompt/response, an empty response)
// is an Error naming file:line; so is a file without pairs.
std::vector<SftPair> read_pairs(const std::string& path);

// The token that ends a response under `policy` (see above).
int sft_end_token(const Policy& policy);

struct SftExample {
  std::vector<int> tokens;    // context, response, end
  size_t response_start = 0;  // tokens[response_start..] are trained on; the context is before
  std::string id, where;
  std::vector<int> context() const { return {tokens.begin(), tokens.begin() + long(response_start)}; }
};

// One pair as a sequence: context = task_context({system, prompt}, ..., seed_prompt).
SftExample make_example(const SftPair& pair, const Tokenizer& tokenizer, const Policy& policy,
                        const std::string& seed_prompt);

// All pairs as sequences. A sequence longer than max_tokens (= --seq-len + 1:
// the model reads all but the last token) is refused, not cut: cutting the
// context from the left would drop BOS, the policy's start tags and the seed
// prompt, the very frame the fine-tuning is meant to train in. The Error names
// the pair's file:line, its length and the limit.
std::vector<SftExample> make_examples(const std::vector<SftPair>& pairs, const Tokenizer& tokenizer,
                                      const Policy& policy, const std::string& seed_prompt, int max_tokens);

// A batch of examples, right-padded to the longest one.
struct SftBatch {
  torch::Tensor inputs;   // (B, T) int64: tokens[0..n-2], padded with EOS
  torch::Tensor targets;  // (B, T) int64: tokens[1..n-1], padded with 0
  torch::Tensor mask;     // (B, T) bool: the target is a response or end token
  int64_t response_tokens = 0;  // mask.sum()
};
SftBatch collate(const std::vector<const SftExample*>& examples, torch::Device device);

// The loss SFT minimises: mean cross-entropy over the masked targets; logits (B, T, V).
torch::Tensor sft_loss(const torch::Tensor& logits, const SftBatch& batch);

}  // namespace prealign
