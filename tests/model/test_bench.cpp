// Throughput measurements behind docs/performance.md. Disabled in normal runs;
//   ./build-model/test_model --gtest_also_run_disabled_tests --gtest_filter='*Bench*'
// Environment: PREALIGN_BENCH_PRESETS (default "tiny,small,base"), PREALIGN_BENCH_BATCH (8),
// PREALIGN_BENCH_SEQ (256), PREALIGN_BENCH_STEPS (6), PREALIGN_BENCH_THREADS (0 = all cores).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include <torch/csrc/autograd/profiler_legacy.h>

#include "model/llama.hpp"
#include "model/runtime.hpp"

using namespace prealign;
using torch::Tensor;

namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : fallback;
}

std::vector<std::string> env_list(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  std::stringstream in(v ? v : fallback);
  std::vector<std::string> out;
  for (std::string s; std::getline(in, s, ',');) out.push_back(s);
  return out;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

// One training step as the trainer does it: forward, cross-entropy, backward,
// (optionally) gradient clipping and AdamW, as bench/reference_llama.py does.
TEST(DISABLED_Bench, TrainStep) {
  configure_threads(env_int("PREALIGN_BENCH_THREADS", 0));
  const int B = env_int("PREALIGN_BENCH_BATCH", 8), T = env_int("PREALIGN_BENCH_SEQ", 256);
  const int steps = env_int("PREALIGN_BENCH_STEPS", 6), warmup = 2;
  std::printf("%s | B %d T %d\n", describe_compute().c_str(), B, T);
  // Median and best step: the machine is shared, and noise only ever adds time.
  std::printf("%-8s %10s %20s %20s %10s\n", "preset", "params", "fwd+bwd tok/s (best)", "+adamw tok/s (best)",
              "GFLOP/s");
  for (const auto& name : env_list("PREALIGN_BENCH_PRESETS", "tiny,small,base")) {
    ModelConfig c = ModelConfig::parse(name, 4096);
    c.max_seq_len = std::max(c.max_seq_len, T);
    torch::manual_seed(0);
    LlamaModel m(c);
    m->train();
    torch::optim::AdamW opt(m->parameters(), torch::optim::AdamWOptions(1e-3).betas({0.9, 0.95}).weight_decay(0.1));
    std::vector<double> plain, full;
    for (int step = 0; step < warmup + steps; ++step) {
      Tensor x = torch::randint(0, c.vocab_size, {B, T + 1}, torch::kLong);
      for (int with_opt = 0; with_opt < 2; ++with_opt) {
        auto t0 = std::chrono::steady_clock::now();
        Tensor logits = m->forward(x.narrow(1, 0, T));  // (B, T, V)
        Tensor loss = torch::nn::functional::cross_entropy(logits.view({-1, c.vocab_size}),
                                                           x.narrow(1, 1, T).reshape({-1}));
        loss.backward();
        if (with_opt) {
          torch::nn::utils::clip_grad_norm_(m->parameters(), 1.0);
          opt.step();
        }
        opt.zero_grad();
        if (step >= warmup) (with_opt ? full : plain).push_back(seconds_since(t0));
      }
    }
    if (const char* trace = std::getenv("PREALIGN_BENCH_TRACE")) {  // chrome://tracing of one step
      torch::autograd::profiler::RecordProfile guard(std::string(trace) + "." + name + ".json");
      Tensor x = torch::randint(0, c.vocab_size, {B, T + 1}, torch::kLong);
      Tensor logits = m->forward(x.narrow(1, 0, T));
      torch::nn::functional::cross_entropy(logits.view({-1, c.vocab_size}), x.narrow(1, 1, T).reshape({-1}))
          .backward();
      opt.zero_grad();
    }
    double tok_plain = B * T / median(plain), tok_full = B * T / median(full);
    double best_plain = B * T / *std::min_element(plain.begin(), plain.end());
    double best_full = B * T / *std::min_element(full.begin(), full.end());
    std::printf("%-8s %10lld %12.0f (%5.0f) %12.0f (%5.0f) %10.1f\n", name.c_str(), (long long)c.parameter_count(),
                tok_plain, best_plain, tok_full, best_full, tok_plain * c.train_flops_per_token(T) / 1e9);
    std::fflush(stdout);
  }
}

// Decoding one sequence token by token with the KV cache, as the generator does.
TEST(DISABLED_Bench, Decode) {
  configure_threads(env_int("PREALIGN_BENCH_THREADS", 0));
  const int n = env_int("PREALIGN_BENCH_SEQ", 256);
  std::printf("%s | decode %d tokens, batch 1\n", describe_compute().c_str(), n);
  for (const auto& name : env_list("PREALIGN_BENCH_PRESETS", "tiny,small,base")) {
    ModelConfig c = ModelConfig::parse(name, 4096);
    c.max_seq_len = std::max(c.max_seq_len, n);
    LlamaModel m(c);
    m->eval();
    torch::NoGradGuard no_grad;
    std::vector<double> runs;
    for (int rep = 0; rep < 3; ++rep) {
      KVCache cache;
      Tensor tok = torch::zeros({1, 1}, torch::kLong);
      auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < n; ++i) tok = m->forward_full(tok, &cache).logits.argmax(-1);  // (1, 1)
      runs.push_back(seconds_since(t0));
    }
    if (const char* trace = std::getenv("PREALIGN_BENCH_TRACE")) {  // chrome://tracing of one sequence
      torch::autograd::profiler::RecordProfile guard(std::string(trace) + ".decode." + name + ".json");
      KVCache cache;
      Tensor tok = torch::zeros({1, 1}, torch::kLong);
      for (int i = 0; i < n; ++i) tok = m->forward_full(tok, &cache).logits.argmax(-1);
    }
    std::printf("%-8s %8.3f ms/token\n", name.c_str(), 1000 * median(runs) / n);
    std::fflush(stdout);
  }
}

