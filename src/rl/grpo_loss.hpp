// The arithmetic of GRPO (docs/rlvr.md): group-normalised advantages, the
// policy-constrained log-probabilities of sampled tokens, and the clipped
// objective with a k3 KL penalty to the reference model. Pure functions of
// tensors, so the tests can hold them against an independent reference.
#pragma once
#include <torch/torch.h>

#include <vector>

#include "decode/policy.hpp"

namespace prealign {

// ---- advantages ---------------------------------------------------------------

struct Advantages {
  std::vector<double> values;    // one per sample, in the order of the rewards
  int zero_variance_groups = 0;  // groups whose rewards were all equal (advantage 0)
};

// rewards: consecutive groups of `group` samples of one prompt. Each sample gets
// (r - mean_group) / (std_group + eps), std the sample standard deviation (n - 1,
// as torch.std). A group whose rewards are all equal carries no signal: its
// advantages are exactly 0 and it is counted. Error unless group >= 2 divides the count.
Advantages group_advantages(const std::vector<double>& rewards, int group, double eps = 1e-4);

// ---- the policy's constraints as tensors -------------------------------------------

// What the policy stage does to the raw logits in each state, as an additive
// table (S, V): -inf for a token banned in that state (tags not allowed, EOS
// where the state may not end), the policy's bias for an allowed biased token, 0
// elsewhere. Refuses a policy with dynamic rules: they add biases and switch
// policies mid-sequence in ways a per-state table cannot replay.
torch::Tensor constraint_table(const Policy& policy, int vocab_size);

// log π(token | prefix) under the constraints actually applied when sampling:
//   log_softmax((logits + table[state]) / temperature)[token]
// logits (B, T, V) raw, states and tokens (B, T) int64 -> (B, T). Positions where
// `mask` (B, T) is false (padding) give 0. A banned token would give -inf.
torch::Tensor constrained_token_log_probs(const torch::Tensor& logits, const torch::Tensor& table,
                                          const torch::Tensor& states, const torch::Tensor& tokens,
                                          const torch::Tensor& mask, double temperature);

// ---- the loss -----------------------------------------------------------------------

struct GrpoLossOptions {
  double clip = 0.2;     // ε: the ratio is clipped to [1 - ε, 1 + ε]
  double kl_coef = 0.0;  // β: weight of the k3 KL estimate to the reference
};

struct GrpoLoss {
  torch::Tensor per_sequence;   // (B) mean over each sequence's tokens of the per-token loss
  torch::Tensor kl;             // (B, T) k3 per token (0 at padding; zeros when there is no reference)
  torch::Tensor clipped;        // (B, T) bool: the clipped branch was taken and binds
  torch::Tensor ratio;          // (B, T) π_θ / π_old (1 at padding)
};

// Per token t of sequence b with advantage A_b:
//   ratio = exp(logp - old_logp)
//   surrogate = min(ratio A, clip(ratio, 1-ε, 1+ε) A)
//   k3 = exp(ref - logp) - (ref - logp) - 1
//   loss_t = -surrogate + β k3
// then per_sequence[b] = mean of loss_t over the unmasked tokens of b (a
// sequence without tokens gives 0). The trainer's loss is the mean of
// per_sequence over all sequences of the step: mean over tokens, then over sequences.
// logp (B, T) with gradient; old_logp, ref_logp (B, T) detached (ref_logp may be
// undefined when β = 0); advantages (B); mask (B, T) bool.
GrpoLoss grpo_loss(const torch::Tensor& logp, const torch::Tensor& old_logp, const torch::Tensor& ref_logp,
                   const torch::Tensor& advantages, const torch::Tensor& mask, const GrpoLossOptions& options);

}  // namespace prealign
