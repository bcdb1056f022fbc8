#include "rl/grpo_loss.hpp"

#include <cmath>
#include <limits>

#include "core/error.hpp"

namespace prealign {

Advantages group_advantages(const std::vector<double>& rewards, int group, double eps) {
  require(group >= 2, "--group", "must be at least 2 (got " + std::to_string(group) + ")",
          "GRPO compares the samples of one prompt with each other: one sample has nothing to compare with");
  require(rewards.size() % static_cast<size_t>(group) == 0, "group_advantages",
          std::to_string(rewards.size()) + " rewards do not make whole groups of " + std::to_string(group));
  Advantages a;
  a.values.assign(rewards.size(), 0.0);
  const size_t g = static_cast<size_t>(group);
  for (size_t start = 0; start < rewards.size(); start += g) {
    double mean = 0;
    for (size_t i = start; i < start + g; ++i) mean += rewards[i];
    mean /= double(g);
    double ss = 0;
    bool all_equal = true;
    for (size_t i = start; i < start + g; ++i) {
      ss += (rewards[i] - mean) * (rewards[i] - mean);
      all_equal = all_equal && rewards[i] == rewards[start];
    }
    // Exactly equal rewards: no preference among the samples, so no push at all
    // (not a tiny one from rounding in the mean).
    if (all_equal) {
      ++a.zero_variance_groups;
      continue;
    }
    const double sd = std::sqrt(ss / double(g - 1));
    for (size_t i = start; i < start + g; ++i) a.values[i] = (rewards[i] - mean) / (sd + eps);
  }
  return a;
}

torch::Tensor constraint_table(const Policy& policy, int vocab_size) {
  if (policy.has_rules())
    fail("policy " + policy.name(), "has dynamic rules, which RLVR cannot replay in its loss",
         "rules switch policies and add biases mid-sequence; train under a policy without \"rules\" "
         "(e.g. the same file with the rules removed)");
  require(policy.vocab_size() == vocab_size, "policy " + policy.name(),
          "was built for a vocabulary of " + std::to_string(policy.vocab_size()) + " tokens, the model has " +
              std::to_string(vocab_size));
  const int n_states = static_cast<int>(policy.states().size());
  torch::Tensor table = torch::zeros({n_states, vocab_size});  // (S, V)
  auto t = table.accessor<float, 2>();
  const float neg_inf = -std::numeric_limits<float>::infinity();
  for (int s = 0; s < n_states; ++s)
    for (int id = 0; id < vocab_size; ++id) {
      // The same predicate and the same biases as PolicyStage::apply.
      if (policy.is_banned(s, id)) {
        t[s][id] = neg_inf;
        continue;
      }
      auto b = policy.bias().find(id);
      if (b != policy.bias().end()) t[s][id] = b->second;
    }
  return table;
}

torch::Tensor constrained_token_log_probs(const torch::Tensor& logits, const torch::Tensor& table,
                                          const torch::Tensor& states, const torch::Tensor& tokens,
                                          const torch::Tensor& mask, double temperature) {
  require(temperature > 0 && std::isfinite(temperature), "--temperature",
          "must be positive for RLVR (got " + std::to_string(temperature) + ")",
          "greedy rollouts give a group identical samples and no learning signal");
  const int64_t B = logits.size(0), T = logits.size(1), V = logits.size(2);
  const torch::Tensor safe_states = states.masked_fill(~mask, 0);                // (B, T)
  torch::Tensor added = table.to(logits.device()).index_select(0, safe_states.reshape(-1));  // (B*T, V)
  torch::Tensor adjusted = (logits.to(torch::kFloat) + added.view({B, T, V})) / temperature;  // (B, T, V)
  torch::Tensor logp = torch::log_softmax(adjusted, -1);                        // (B, T, V)
  torch::Tensor picked = logp.gather(-1, tokens.masked_fill(~mask, 0).unsqueeze(-1)).squeeze(-1);  // (B, T)
  // where(), not multiplication: a padding position's -inf must not become NaN.
  return torch::where(mask, picked, torch::zeros_like(picked));
}

GrpoLoss grpo_loss(const torch::Tensor& logp, const torch::Tensor& old_logp, const torch::Tensor& ref_logp,
                   const torch::Tensor& advantages, const torch::Tensor& mask, const GrpoLossOptions& o) {
  require(o.clip > 0 && o.clip < 1, "--clip", "must be in (0, 1), got " + std::to_string(o.clip));
  require(o.kl_coef >= 0 && std::isfinite(o.kl_coef), "--kl-coef", "must be >= 0");
  require(o.kl_coef == 0 || ref_logp.defined(), "grpo_loss", "a KL coefficient needs the reference's log-probs");
  const torch::Tensor zeros = torch::zeros_like(logp);
  const torch::Tensor A = advantages.to(logp.dtype()).unsqueeze(1);              // (B, 1)
  GrpoLoss out;
  out.ratio = torch::exp(torch::where(mask, logp - old_logp, zeros));            // (B, T)
  const torch::Tensor unclipped = out.ratio * A;
  const torch::Tensor clipped = torch::clamp(out.ratio, 1 - o.clip, 1 + o.clip) * A;
  torch::Tensor per_token = -torch::min(unclipped, clipped);                     // (B, T)
  // Where the clip binds, the gradient of that token is zero.
  out.clipped = mask & (((out.ratio < 1 - o.clip) & (A < 0)) | ((out.ratio > 1 + o.clip) & (A > 0)));
  out.kl = zeros;
  if (ref_logp.defined()) {
    const torch::Tensor d = torch::where(mask, ref_logp - logp, zeros);         // (B, T)
    out.kl = torch::exp(d) - d - 1;
    if (o.kl_coef > 0) per_token = per_token + o.kl_coef * out.kl;
  }
  per_token = torch::where(mask, per_token, zeros);
  const torch::Tensor counts = mask.sum(1).to(logp.dtype());                     // (B)
  out.per_sequence = per_token.sum(1) / counts.clamp_min(1);                     // (B)
  return out;
}

}  // namespace prealign
