#include "decode/logits_source.hpp"

#include <numeric>

#include "core/error.hpp"

namespace prealign {

namespace {

// (B, V) logits on any device/dtype -> row-major floats on the CPU.
RowLogits to_rows(const torch::Tensor& logits) {
  torch::Tensor cpu = logits.to(torch::kCPU, torch::kFloat).contiguous();
  RowLogits out;
  out.rows = cpu.size(0);
  out.vocab = cpu.size(1);
  out.data.assign(cpu.data_ptr<float>(), cpu.data_ptr<float>() + cpu.numel());
  return out;
}

void check_step(const std::vector<int64_t>& parents, const std::vector<int>& tokens, int64_t rows) {
  if (parents.size() != tokens.size()) fail("search", "parents and tokens differ in number");
  if (parents.empty()) fail("search", "a step with no rows");
  for (int64_t p : parents)
    if (p < 0 || p >= rows) fail("search", "parent row " + std::to_string(p) + " of " + std::to_string(rows) + " rows");
}

}  // namespace

// ---- ModelLogits ------------------------------------------------------------

ModelLogits::ModelLogits(LlamaModel model)
    : model_(std::move(model)), device_(model_->parameters().front().device()) {}

int ModelLogits::vocab_size() const { return model_->config().vocab_size; }
int64_t ModelLogits::max_len() const { return model_->config().max_seq_len; }

RowLogits ModelLogits::start(const std::vector<int>& context, int64_t rows) {
  if (context.empty() || rows < 1) fail("search", "an empty context or no rows");
  if (static_cast<int64_t>(context.size()) > max_len())
    fail("prompt", std::to_string(context.size()) + " context tokens exceed the model's max_seq_len " +
                       std::to_string(max_len()), "shorten the prompt");
  torch::NoGradGuard no_grad;
  model_->eval();
  cache_.clear();
  std::vector<int64_t> ids(context.begin(), context.end());
  torch::Tensor tokens = torch::tensor(ids, torch::kLong).view({1, -1}).to(device_);  // (1, T)
  torch::Tensor last = model_->forward_full(tokens, &cache_).logits.select(1, -1);     // (1, V)
  forward_tokens_ += static_cast<int64_t>(context.size());
  rows_ = rows;
  if (rows > 1) {  // the copies share the prefill: one cache row copied `rows` times
    cache_.select_rows(std::vector<int64_t>(static_cast<size_t>(rows), 0));
    last = last.expand({rows, last.size(1)});
  }
  return to_rows(last);
}

RowLogits ModelLogits::extend(const std::vector<int64_t>& parents, const std::vector<int>& tokens) {
  check_step(parents, tokens, rows_);
  torch::NoGradGuard no_grad;
  std::vector<int64_t> identity(static_cast<size_t>(rows_));
  std::iota(identity.begin(), identity.end(), 0);
  if (parents != identity) cache_.select_rows(parents);  // (B', Hkv, S, hd) per layer
  rows_ = static_cast<int64_t>(parents.size());
  torch::Tensor step = torch::empty({rows_, 1}, torch::kLong);  // (B', 1)
  std::copy(tokens.begin(), tokens.end(), step.data_ptr<int64_t>());
  torch::Tensor logits = model_->forward_full(step.to(device_), &cache_).logits.select(1, 0);  // (B', V)
  forward_tokens_ += rows_;
  return to_rows(logits);
}

// ---- PrefixLogits -----------------------------------------------------------

PrefixLogits::PrefixLogits(int vocab_size, int64_t max_len, Function f)
    : vocab_(vocab_size), max_len_(max_len), f_(std::move(f)) {}

RowLogits PrefixLogits::evaluate() {
  RowLogits out;
  out.rows = static_cast<int64_t>(prefixes_.size());
  out.vocab = vocab_;
  for (const auto& p : prefixes_) {
    std::vector<float> l = f_(p);
    if (static_cast<int>(l.size()) != vocab_) fail("search", "a logits function gave the wrong vocabulary size");
    out.data.insert(out.data.end(), l.begin(), l.end());
  }
  return out;
}

RowLogits PrefixLogits::start(const std::vector<int>& context, int64_t rows) {
  if (context.empty() || rows < 1) fail("search", "an empty context or no rows");
  prefixes_.assign(static_cast<size_t>(rows), context);
  forward_tokens_ += static_cast<int64_t>(context.size());
  return evaluate();
}

RowLogits PrefixLogits::extend(const std::vector<int64_t>& parents, const std::vector<int>& tokens) {
  check_step(parents, tokens, static_cast<int64_t>(prefixes_.size()));
  std::vector<std::vector<int>> next;
  for (size_t r = 0; r < parents.size(); ++r) {
    next.push_back(prefixes_[static_cast<size_t>(parents[r])]);
    next.back().push_back(tokens[r]);
  }
  prefixes_ = std::move(next);
  forward_tokens_ += static_cast<int64_t>(prefixes_.size());
  return evaluate();
}

std::vector<float> full_forward_logits(LlamaModel& model, const std::vector<int>& tokens) {
  torch::NoGradGuard no_grad;
  model->eval();
  std::vector<int64_t> ids(tokens.begin(), tokens.end());
  torch::Tensor logits = model->forward(torch::tensor(ids, torch::kLong).view({1, -1}));  // (1, T, V)
  torch::Tensor last = logits.index({0, -1}).to(torch::kCPU, torch::kFloat).contiguous();  // (V)
  return std::vector<float>(last.data_ptr<float>(), last.data_ptr<float>() + last.numel());
}

}  // namespace prealign
