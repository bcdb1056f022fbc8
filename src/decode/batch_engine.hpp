// Continuous batching: sequences join a running batch at its next step and
// leave it when done, each with its own policy, sampler, seed and rows of the
// shared KV cache. One step is one forward pass for every running sequence
// (plus one prefill for the newcomers, together), then one SequenceDecoder
// step per sequence with its row of the logits. A sequence decodes what it
// decodes alone, up to float rounding in the batched products: its RoPE
// positions count from its own first token, so the padding that aligns rows
// changes nothing. decode_batch is this engine run until everyone is done;
// the server keeps one running for the life of the process.
#pragma once
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "decode/generator.hpp"
#include "decode/sequence_decoder.hpp"
#include "model/llama.hpp"

namespace prealign {

// What add() takes: where a sequence starts, how it samples, who hears of it.
struct SequenceSpec {
  std::vector<int> context;              // fed before generation (trusted: may hold tag ids)
  int state = 0;                         // the policy state after the context
  std::shared_ptr<const Policy> policy;  // kept alive while the sequence runs
  GenerateOptions options;
  uint64_t seed = 0;
  // Sees each token as it is chosen; false ends the sequence ("cancelled").
  std::function<bool(const TokenRecord&)> on_token;
  // A monitor on the residual stream (see ResidualMonitor): per layer (C) at
  // the position whose logits chose the token.
  std::function<void(const std::vector<torch::Tensor>& residual, TokenRecord&)> monitor;
};

using SequenceId = uint64_t;

struct FinishedSequence {
  SequenceId id = 0;
  Generation generation;
  std::exception_ptr error;  // set when decoding this sequence failed (its generation is partial)
};

class BatchEngine {
 public:
  // `token_text` gives a non-tag token's bytes.
  BatchEngine(LlamaModel model, std::function<std::string(int)> token_text);

  // Queues a sequence to join at the next step. Throws Error at once for what
  // can never decode (empty or too long context, ids outside the vocabulary,
  // a policy of another vocabulary, invalid sampling options).
  SequenceId add(SequenceSpec spec);

  // Prefills the sequences added since the last step and merges them into the
  // batch, runs one forward pass for the others, chooses a token for every
  // sequence and returns those that ended. A failure of one sequence (its
  // callback or sampler throws) ends that one; a failed forward pass ends the
  // sequences it was for.
  std::vector<FinishedSequence> step();

  // Sequences added and not yet returned by step().
  size_t active() const { return rows_.size() + joining_.size() + ended_.size(); }
  // Sequences decoding in the batch (prefilled, running).
  size_t running() const { return rows_.size(); }
  // Positions of the shared KV cache (the longest running sequence's length).
  int64_t cache_length() const { return cache_.length; }

 private:
  struct Row {
    SequenceId id;
    std::shared_ptr<const Policy> policy;
    std::unique_ptr<SequenceDecoder> decoder;  // refers to *policy
    std::vector<int> context;                  // until prefilled
    std::function<bool(const TokenRecord&)> on_token;
    std::function<void(const std::vector<torch::Tensor>&, TokenRecord&)> monitor;
    int64_t next_token = -1;  // chosen, not yet fed to the model
    std::exception_ptr error;
  };
  // Logits (B, V) as float on the CPU, and per layer residual (B, C) when a monitor asks.
  struct StepOutput {
    torch::Tensor logits;
    std::vector<torch::Tensor> residual;
  };
  StepOutput forward_running();
  StepOutput prefill_joining();
  void choose(Row& row, const StepOutput& out, int64_t r);
  bool wants_residual(const std::vector<Row>& rows) const;

  LlamaModel model_;
  std::function<std::string(int)> token_text_;
  torch::Device device_;
  int64_t max_len_;
  KVCache cache_;
  std::vector<Row> rows_;     // cache row r is rows_[r]
  std::vector<Row> joining_;  // added, prefilled at the next step
  std::vector<FinishedSequence> ended_;  // ended before their first step (max_new_tokens 0)
  SequenceId next_id_ = 1;
};

}  // namespace prealign
