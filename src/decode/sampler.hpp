// Sampling as a chain of small stages over a candidate array (after llama.cpp's
// sampler chain). The policy is one stateful stage; temperature, top-k, top-p
// are others; the last stage picks the token. Temptation is measured by the
// generator from the raw logits before the first stage runs.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "decode/policy.hpp"

namespace prealign {

struct Candidate {
  int32_t id;
  float logit;
  float p;  // filled by stages that normalize (softmax), else 0
};

struct Candidates {
  std::vector<Candidate> items;  // starts as the full vocabulary in id order
  bool id_order = true;          // items[i].id == i (until a stage reorders or truncates)
  bool sorted = false;           // all items sorted by logit, descending
  int selected = -1;             // index into items, set by the final stage
  // NaN logits become -inf here so that sorting stays well defined.
  void reset(const float* logits, int vocab_size);
  // Fills p from the logits in the current order (no sort). Error when every
  // candidate has logit -inf (everything banned).
  void softmax();
  // Puts the k largest candidates first, sorted (ties: lower id first); partial
  // sort, so O(V log k). Clears id_order.
  void sort_top(size_t k);
  void truncate(size_t n);  // keep the first n
  std::vector<float> scratch;  // softmax workspace (contiguous, so the exponentials vectorize)
};

class SamplerStage {
 public:
  virtual ~SamplerStage() = default;
  virtual const char* name() const = 0;
  virtual void apply(Candidates& c, Rng& rng) = 0;
  virtual void accept(int /*token*/) {}  // the token actually chosen (or forced)
  virtual void reset() {}
};

// Bans (logit = -inf) every tag the policy forbids in the current state, adds
// the policy's biases, and follows the chosen tokens through the state machine.
// Dynamic rules (decode/rule_engine.hpp) may switch it to another policy of the
// same file and add biases of their own; reset() undoes both.
class PolicyStage : public SamplerStage {
 public:
  explicit PolicyStage(const Policy& policy);
  const char* name() const override { return "policy"; }
  void apply(Candidates& c, Rng& rng) override;
  void accept(int token) override;
  void reset() override;  // the policy it was made with, its initial state, no rule biases
  int state() const { return state_; }
  void set_state(int s) { state_ = s; }
  const Policy& policy() const { return *policy_; }

  // From the next token on, decode under `policy` (which must outlive the
  // stage) in its state `state`; biases added by rules are dropped.
  void switch_policy(const Policy& policy, int state);
  // Adds `delta` to the bias of `token` on top of the policy's own, until a
  // switch; like the policy's biases it applies only where the token is not banned.
  void add_bias(int token, float delta);
  void remove_added_bias(int token);  // back to the policy's own bias
  float bias_of(int token) const;     // the policy's own plus what rules added
  const std::map<int, float>& added_bias() const { return added_; }

 private:
  const Policy* first_;
  const Policy* policy_;
  int state_;
  std::map<int, float> added_;
};

// Bans EOS while fewer than `min_length` tokens are in the sequence; `already`
// are there before the first sampled token (the context). Goes right after the
// policy stage, while candidates are still in id order.
std::unique_ptr<SamplerStage> make_min_length(int eos_id, int min_length, int already);
std::unique_ptr<SamplerStage> make_temperature(float temperature);
std::unique_ptr<SamplerStage> make_top_k(int k);
std::unique_ptr<SamplerStage> make_top_p(float p);
std::unique_ptr<SamplerStage> make_greedy();       // final: highest logit
std::unique_ptr<SamplerStage> make_distribution();  // final: sample from softmax

class SamplerChain {
 public:
  void add(std::unique_ptr<SamplerStage> stage) { stages_.push_back(std::move(stage)); }
  // Runs every stage over the logits and returns the chosen token; `chosen_p`
  // receives its probability under the final distribution.
  int sample(const float* logits, int vocab_size, Rng& rng, float* chosen_p = nullptr);
  void accept(int token);
  void reset();

 private:
  std::vector<std::unique_ptr<SamplerStage>> stages_;
  Candidates cand_;
};

}  // namespace prealign
