// Where a search gets its logits: a batch of rows, each a prefix being
// extended, that can be reordered, duplicated and dropped between steps (beam
// search keeps the best continuations of any rows; best-of drops finished
// samples). The search code (decode/tag_search.hpp) sees only this interface,
// so it is tested with stubbed logits and no model; ModelLogits runs a
// LlamaModel with one KV cache whose rows follow the beams.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "model/llama.hpp"

namespace prealign {

// Raw logits of a batch of rows, row-major (rows, vocab).
struct RowLogits {
  int64_t rows = 0, vocab = 0;
  std::vector<float> data;
  const float* row(int64_t r) const { return data.data() + r * vocab; }
  std::vector<float> row_vector(int64_t r) const { return std::vector<float>(row(r), row(r) + vocab); }
};

class LogitsSource {
 public:
  virtual ~LogitsSource() = default;
  virtual int vocab_size() const = 0;
  // Positions a row may hold (the model's context length).
  virtual int64_t max_len() const = 0;
  // Starts over with `rows` copies of `context` (the context is fed once);
  // returns the logits after it, one row per copy.
  virtual RowLogits start(const std::vector<int>& context, int64_t rows) = 0;
  // One step: new row r continues row parents[r] of the previous batch with
  // tokens[r]. Parents may repeat (a beam split in two), be skipped (dropped)
  // and come in any order. Returns the logits after each new row's token.
  virtual RowLogits extend(const std::vector<int64_t>& parents, const std::vector<int>& tokens) = 0;
  // Token positions fed to the model so far (context once, then one per row
  // per step): the cost searches are compared by.
  int64_t forward_tokens() const { return forward_tokens_; }

 protected:
  int64_t forward_tokens_ = 0;
};

// A LlamaModel with a KV cache: start() prefills the context once and copies
// its cache row; extend() reorders the cache rows (KVCache::select_rows, which
// index_selects, so a repeated parent gets its own copy) and runs one forward
// over all rows.
class ModelLogits : public LogitsSource {
 public:
  explicit ModelLogits(LlamaModel model);
  int vocab_size() const override;
  int64_t max_len() const override;
  RowLogits start(const std::vector<int>& context, int64_t rows) override;
  RowLogits extend(const std::vector<int64_t>& parents, const std::vector<int>& tokens) override;

 private:
  LlamaModel model_;
  torch::Device device_;
  KVCache cache_;
  int64_t rows_ = 0;
};

// Logits as a function of the whole prefix (context + tokens so far): the
// reference a test compares with (a model's full forward without a cache) or
// a hand-made distribution. Each call costs what the function costs.
class PrefixLogits : public LogitsSource {
 public:
  using Function = std::function<std::vector<float>(const std::vector<int>& prefix)>;
  PrefixLogits(int vocab_size, int64_t max_len, Function f);
  int vocab_size() const override { return vocab_; }
  int64_t max_len() const override { return max_len_; }
  RowLogits start(const std::vector<int>& context, int64_t rows) override;
  RowLogits extend(const std::vector<int64_t>& parents, const std::vector<int>& tokens) override;
  const std::vector<std::vector<int>>& prefixes() const { return prefixes_; }

 private:
  RowLogits evaluate();
  int vocab_;
  int64_t max_len_;
  Function f_;
  std::vector<std::vector<int>> prefixes_;
};

// The last position's raw logits of a full forward over `tokens` (no cache).
std::vector<float> full_forward_logits(LlamaModel& model, const std::vector<int>& tokens);

}  // namespace prealign
