// Decoding throughput with the KV cache, batch 1, and what the policy costs:
// the product's decode loop (decode_context: temptation from the raw logits,
// policy stage, sampler chain, per-token records) against a bare loop over the
// same model with the same sampler minus the policy stage and the temptation.
// Runs alternate; each pair decodes the same number of tokens. Medians.
//   build/bench/decode_bench [presets=tiny,small,base] [vocab=8192] [tokens=256] [reps=7]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <ctime>

#include "core/paths.hpp"
#include "decode/generator.hpp"
#include "model/runtime.hpp"

using namespace prealign;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// CPU seconds this process has used: with one thread, a measure other jobs on
// the machine disturb far less than wall time (they take turns, not cycles).
double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// A vocabulary whose ids 4..7 are the ai_modes tags (as a trained tokenizer numbers them).
TagVocabulary bench_vocabulary(int vocab_size) {
  TagVocabulary v;
  v.vocab_size = vocab_size;
  v.tags = {{"<AI>", 4}, {"</AI>", 5}, {"<AI_quoting_human>", 6}, {"</AI_quoting_human>", 7}};
  return v;
}

// The baseline: the same forward passes and sampling stages, nothing of the policy.
int bare_decode(LlamaModel& m, const std::vector<int>& context, int n_tokens, const GenerateOptions& o) {
  SamplerChain chain;
  chain.add(make_temperature(static_cast<float>(o.temperature)));
  chain.add(make_top_p(static_cast<float>(o.top_p)));
  chain.add(make_distribution());
  Rng rng(o.seed);
  torch::NoGradGuard no_grad;
  KVCache cache;
  std::vector<int64_t> ctx(context.begin(), context.end());
  torch::Tensor logits = m->forward_full(torch::tensor(ctx).view({1, -1}), &cache).logits;
  int produced = 0;
  for (; produced < n_tokens; ++produced) {
    torch::Tensor last = logits.index({0, -1}).contiguous();  // (V)
    int tok = chain.sample(last.data_ptr<float>(), static_cast<int>(last.numel()), rng);
    chain.accept(tok);
    if (produced + 1 == n_tokens) break;
    logits = m->forward_full(torch::full({1, 1}, tok, torch::kLong), &cache).logits;
  }
  return produced + 1;
}

}  // namespace

int main(int argc, char** argv) {
  reexec_with_thread_policy_if_needed(argc, argv);  // as the prealign binary does
  std::string presets = argc > 1 ? argv[1] : "tiny,small,base";
  const int vocab = argc > 2 ? std::atoi(argv[2]) : 8192;
  const int tokens = argc > 3 ? std::atoi(argv[3]) : 256;
  const int reps = argc > 4 ? std::atoi(argv[4]) : 7;
  configure_threads(std::getenv("THREADS") ? std::atoi(std::getenv("THREADS")) : 0);
  std::printf("%s | vocab %d, %d new tokens after a 16-token prompt, batch 1, %d alternating runs\n",
              describe_compute().c_str(), vocab, tokens, reps);
  std::printf("| model | params | bare loop tok/s | with policy + temptation tok/s | overhead (wall) | overhead (CPU time) | batch of 16 tok/s |\n"
              "|---|---|---|---|---|---|---|\n");
  const TagVocabulary v = bench_vocabulary(vocab);
  const Policy policy = Policy::load(find_shipped_file("configs/policies/ai_mode.json"), v);
  std::stringstream list(presets);
  for (std::string name; std::getline(list, name, ',');) {
    ModelConfig c = ModelConfig::parse(name, vocab);
    c.max_seq_len = std::max(c.max_seq_len, tokens + 32);
    torch::manual_seed(0);
    LlamaModel m(c);
    m->eval();
    std::vector<int> context{1};
    for (int i = 0; i < 15; ++i) context.push_back(100 + 37 * i);
    context.push_back(4);  // <AI>
    GenerateOptions o;
    o.max_new_tokens = tokens;
    o.temperature = 0.7;
    o.top_p = 0.9;
    std::vector<double> with_policy, bare, cpu_ratio;
    for (int rep = 0; rep < reps + 1; ++rep) {  // the first pair warms up
      o.seed = rep;
      auto t0 = std::chrono::steady_clock::now();
      double c0 = cpu_seconds();
      Generation g = decode_context(m, policy, context, policy.state_after_start(), o,
                                    [](int id) { return std::to_string(id); });
      const double a = seconds_since(t0), ca = cpu_seconds() - c0;
      const int n = static_cast<int>(g.tokens.size());
      t0 = std::chrono::steady_clock::now();
      c0 = cpu_seconds();
      const int n_bare = bare_decode(m, context, n, o);
      const double b = seconds_since(t0), cb = cpu_seconds() - c0;
      if (rep == 0) continue;
      cpu_ratio.push_back((ca / n) / (cb / n_bare));
      with_policy.push_back(n / a);
      bare.push_back(n_bare / b);
    }
    // The same decode loop over 16 sequences at once (what generate --batch-size does).
    std::vector<std::vector<int>> contexts(16, context);
    std::vector<int> states(16, policy.state_after_start());
    std::vector<uint64_t> seeds;
    for (int i = 0; i < 16; ++i) seeds.push_back(1000 + i);
    std::vector<double> batched;
    for (int rep = 0; rep < 3; ++rep) {
      auto t0 = std::chrono::steady_clock::now();
      size_t n = 0;
      for (const Generation& g : decode_batch(m, policy, contexts, states, o, seeds, [](int id) { return std::to_string(id); }))
        n += g.tokens.size();
      batched.push_back(double(n) / seconds_since(t0));
    }
    const double wp = median(with_policy), bb = median(bare);
    std::printf("| %s | %.2fM | %.0f | %.0f | %+.1f%% | %+.1f%% | %.0f |\n", name.c_str(), c.parameter_count() / 1e6, bb,
                wp, 100.0 * (bb / wp - 1.0), 100.0 * (median(cpu_ratio) - 1.0), median(batched));
    std::fflush(stdout);
  }
  return 0;
}
