// The continuous-batching loop: feed the running rows' last tokens, prefill and
// merge the newcomers, step each sequence with its row of the logits, drop the
// finished rows.
#include "decode/batch_engine.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace prealign {

namespace {

void check_context(const std::vector<int>& context, int64_t max_len, int vocab) {
  if (context.empty()) fail("generate", "empty context", "start the context with BOS");
  if (static_cast<int64_t>(context.size()) > max_len)
    fail("prompt",
         std::to_string(context.size()) + " context tokens exceed the model's max_seq_len " + std::to_string(max_len),
         "shorten the prompt");
  // Checked here rather than by the forward pass, which would fail the whole batch.
  for (int id : context)
    if (id < 0 || id >= vocab)
      fail("generate", "token id " + std::to_string(id) + " outside the vocabulary (size " + std::to_string(vocab) + ")");
}

// (B, V) logits as contiguous float32 on the CPU (usually they are already).
torch::Tensor cpu_float(const torch::Tensor& logits) {
  torch::Tensor cpu = logits;
  if (cpu.device() != torch::kCPU || cpu.scalar_type() != torch::kFloat) cpu = cpu.to(torch::kCPU, torch::kFloat);
  return cpu.is_contiguous() ? cpu : cpu.contiguous();
}

// Row b of (B, V) CPU float logits.
std::vector<float> row_logits(const torch::Tensor& logits, int64_t b) {
  const float* p = logits.data_ptr<float>() + b * logits.size(1);
  return std::vector<float>(p, p + logits.size(1));
}

}  // namespace

BatchEngine::BatchEngine(LlamaModel model, std::function<std::string(int)> token_text)
    : model_(std::move(model)),
      token_text_(std::move(token_text)),
      device_(model_->parameters().front().device()),
      max_len_(model_->config().max_seq_len) {
  model_->eval();
}

SequenceId BatchEngine::add(SequenceSpec spec) {
  if (!spec.policy) fail("generate", "no policy");
  const Policy& policy = *spec.policy;
  const int vocab = model_->config().vocab_size;
  if (policy.vocab_size() != vocab)
    fail("policy " + policy.name(), "built for a vocabulary of " + std::to_string(policy.vocab_size()) +
                                        " tokens, the model has " + std::to_string(vocab));
  if (spec.options.max_new_tokens < 0) fail("--max-new-tokens", "must be >= 0");
  check_context(spec.context, max_len_, vocab);
  Row row{next_id_++, spec.policy, nullptr, std::move(spec.context), std::move(spec.on_token),
          std::move(spec.monitor), -1, nullptr};
  row.decoder = std::make_unique<SequenceDecoder>(policy, spec.options, row.context, spec.state, spec.seed);
  const bool full = spec.options.max_length > 0 && row.context.size() >= static_cast<size_t>(spec.options.max_length);
  if (spec.options.max_new_tokens == 0 || full) {  // nothing to generate: the context fills max_length
    ended_.push_back({row.id, row.decoder->take(), nullptr});
    return row.id;
  }
  joining_.push_back(std::move(row));
  return joining_.back().id;
}

bool BatchEngine::wants_residual(const std::vector<Row>& rows) const {
  return std::any_of(rows.begin(), rows.end(), [](const Row& r) { return bool(r.monitor); });
}

BatchEngine::StepOutput BatchEngine::forward_running() {
  // (B, 1) next inputs, written in place: torch::tensor(vector) costs a few
  // dispatches per token, which shows on the tiny presets.
  torch::Tensor step = torch::empty({static_cast<int64_t>(rows_.size()), 1}, torch::kLong);
  int64_t* ids = step.data_ptr<int64_t>();
  for (size_t r = 0; r < rows_.size(); ++r) ids[r] = rows_[r].next_token;
  if (device_ != torch::kCPU) step = step.to(device_);
  ForwardOutput out = model_->forward_full(step, &cache_, wants_residual(rows_));
  StepOutput o{out.logits.select(1, 0), {}};  // (B, V)
  for (const torch::Tensor& layer : out.residual) o.residual.push_back(layer.select(1, 0));
  return o;
}

// The joining contexts, left-padded to one length (B, T), into a cache of their
// own that step() merges into the batch's.
BatchEngine::StepOutput BatchEngine::prefill_joining() {
  size_t longest = 0;
  for (const Row& r : joining_) longest = std::max(longest, r.context.size());
  std::vector<int64_t> ids, pad;
  for (const Row& r : joining_) {
    pad.push_back(static_cast<int64_t>(longest - r.context.size()));
    ids.insert(ids.end(), longest - r.context.size(), Tokenizer::kBos);  // any id: padding is masked
    ids.insert(ids.end(), r.context.begin(), r.context.end());
  }
  KVCache fresh;
  if (std::any_of(pad.begin(), pad.end(), [](int64_t p) { return p > 0; })) fresh.left_pad = pad;
  torch::Tensor tokens =
      torch::tensor(ids, torch::kLong).view({static_cast<int64_t>(joining_.size()), static_cast<int64_t>(longest)});
  ForwardOutput out = model_->forward_full(tokens.to(device_), &fresh, wants_residual(joining_));
  cache_.append_rows(fresh);
  StepOutput o{out.logits.select(1, -1), {}};  // (B, V)
  for (const torch::Tensor& layer : out.residual) o.residual.push_back(layer.select(1, -1));
  return o;
}

void BatchEngine::choose(Row& row, const StepOutput& out, int64_t r) {
  try {
    // The monitor reads the token before the policy's rules do (a rule may
    // condition on its reading), so it runs inside SequenceDecoder::step.
    std::function<void(TokenRecord&)> read_monitor;
    if (row.monitor)
      read_monitor = [&row, &out, r](TokenRecord& token) {
        std::vector<torch::Tensor> residual;
        for (const torch::Tensor& layer : out.residual) residual.push_back(layer[r]);
        row.monitor(residual, token);
      };
    const int token = row.decoder->step(row_logits(out.logits, r), max_len_, token_text_, read_monitor);
    if (row.on_token && !row.on_token(row.decoder->last_token())) row.decoder->finish("cancelled");
    row.next_token = token;
  } catch (...) {
    row.error = std::current_exception();
  }
}

std::vector<FinishedSequence> BatchEngine::step() {
  std::vector<FinishedSequence> finished = std::move(ended_);
  ended_.clear();
  if (rows_.empty() && joining_.empty()) return finished;
  torch::NoGradGuard no_grad;
  auto fail_all = [&](std::vector<Row>& rows, std::exception_ptr e) {
    for (Row& r : rows) finished.push_back({r.id, r.decoder->take(), e});
    rows.clear();
  };

  // One forward pass for every running row, then one prefill for all newcomers
  // (their own cache, merged below the running rows').
  std::vector<torch::Tensor> logits;
  std::vector<std::vector<torch::Tensor>> residual;  // per part, per layer
  if (!rows_.empty()) {
    try {
      StepOutput o = forward_running();
      logits.push_back(o.logits);
      residual.push_back(std::move(o.residual));
    } catch (...) {
      fail_all(rows_, std::current_exception());
      cache_.clear();
    }
  }
  if (!joining_.empty()) {
    try {
      StepOutput o = prefill_joining();
      logits.push_back(o.logits);
      residual.push_back(std::move(o.residual));
      for (Row& r : joining_) {
        r.context.clear();
        r.context.shrink_to_fit();
        rows_.push_back(std::move(r));
      }
      joining_.clear();
    } catch (...) {
      fail_all(joining_, std::current_exception());
    }
  }
  if (rows_.empty()) return finished;

  StepOutput all;
  all.logits = cpu_float(logits.size() == 1 ? logits[0] : torch::cat(logits, 0));  // (B, V)
  for (size_t l = 0; !residual.empty() && l < residual[0].size(); ++l) {
    std::vector<torch::Tensor> parts;
    for (const auto& part : residual) parts.push_back(part[l]);
    all.residual.push_back(parts.size() == 1 ? parts[0] : torch::cat(parts, 0));  // (B, C)
  }
  std::vector<int64_t> keep;
  std::vector<Row> kept;
  for (size_t r = 0; r < rows_.size(); ++r) {
    Row& row = rows_[r];
    choose(row, all, static_cast<int64_t>(r));
    if (row.error || row.decoder->done()) {
      finished.push_back({row.id, row.decoder->take(), row.error});
    } else {
      keep.push_back(static_cast<int64_t>(r));
      kept.push_back(std::move(row));
    }
  }
  if (kept.empty()) {
    cache_.clear();
  } else if (kept.size() < rows_.size()) {
    cache_.select_rows(keep);
    // The longest rows may have left: the others' common padding goes, so the
    // cache stays as long as its longest row, within max_seq_len.
    cache_.trim_padding();
  }
  rows_ = std::move(kept);
  return finished;
}

}  // namespace prealign
