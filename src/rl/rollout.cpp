#include "rl/rollout.hpp"

#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "decode/generator.hpp"
#include "rl/task_prompt.hpp"

namespace prealign {

std::vector<size_t> pick_tasks(size_t n, int prompts_per_step, uint64_t seed, int64_t step) {
  require(prompts_per_step >= 1, "--prompts-per-step", "must be at least 1");
  require(static_cast<size_t>(prompts_per_step) <= n, "--prompts-per-step",
          std::to_string(prompts_per_step) + " is more than the " + std::to_string(n) + " tasks there are",
          "lower --prompts-per-step or give more tasks");
  // A partial Fisher-Yates shuffle driven by hashes of (seed, step, position).
  std::vector<size_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = i;
  const uint64_t step_seed = hash_combine(seed, 0x7461736bULL + static_cast<uint64_t>(step));
  for (size_t i = 0; i < static_cast<size_t>(prompts_per_step); ++i) {
    const size_t j = i + static_cast<size_t>(hash_unit(step_seed, i) * double(n - i));
    std::swap(order[i], order[std::min(j, n - 1)]);
  }
  order.resize(static_cast<size_t>(prompts_per_step));
  return order;
}

std::vector<Sample> rollout(LlamaModel& model, const Tokenizer& tokenizer, const Policy& policy,
                            const std::vector<TaskRecord>& tasks, const std::vector<size_t>& picked,
                            const std::string& seed_prompt, const RolloutOptions& o, uint64_t seed, int64_t step) {
  std::vector<std::vector<int>> contexts;
  std::vector<uint64_t> seeds;
  std::vector<size_t> owner;
  for (size_t i = 0; i < picked.size(); ++i) {
    const TaskRecord& task = tasks.at(picked[i]);
    const std::vector<int> ctx = task_context(task, tokenizer, policy, seed_prompt);
    // Room for at least one generated token after the context.
    require(static_cast<int64_t>(ctx.size()) < model->config().max_seq_len, "task " + task.id,
            "its prompt (with the seed prompt) is " + std::to_string(ctx.size()) +
                " tokens, the model's context is " + std::to_string(model->config().max_seq_len),
            "drop the task, shorten the seed prompt, or use a model with a longer context");
    for (int g = 0; g < o.group; ++g) {
      contexts.push_back(ctx);
      seeds.push_back(hash_combine(hash_combine(seed, static_cast<uint64_t>(step)), i * 1000003ULL + uint64_t(g)));
      owner.push_back(picked[i]);
    }
  }
  torch::NoGradGuard no_grad;
  const std::vector<int> states(contexts.size(), policy.state_after_start());
  std::vector<Generation> gens = decode_batch(model, policy, contexts, states, o.generate, seeds,
                                              [&](int id) { return tokenizer.token_bytes(id); });
  std::vector<Sample> out(gens.size());
  for (size_t k = 0; k < gens.size(); ++k) {
    Sample& s = out[k];
    s.task = owner[k];
    s.context = std::move(gens[k].context);
    for (const TokenRecord& r : gens[k].tokens) {
      s.tokens.push_back(r.id);
      s.states.push_back(policy.state_index(r.state));
      s.temptation.push_back(r.temptation_total);
    }
    s.text = std::move(gens[k].text);
    s.finish_reason = std::move(gens[k].finish_reason);
  }
  return out;
}

void reward_samples(std::vector<Sample>& samples, const std::vector<TaskRecord>& tasks, const Verifier& verifier,
                    int jobs) {
  // Python tasks start a sandbox each (~0.1 s): verify on several threads.
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    for (size_t i = next++; i < samples.size(); i = next++) {
      try {
        Sample& s = samples[i];
        const Verdict v = verifier.verify(tasks.at(s.task), s.text);
        s.reward = v.reward;
        s.correct = v.correct;
        s.format_ok = v.format_ok;
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 1; t < jobs; ++t) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace prealign
