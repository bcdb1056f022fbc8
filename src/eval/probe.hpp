// Linear probes on the residual stream (seed 000's footnote 4): at every layer,
// a multinomial logistic regression from the residual after the block to the
// current mode (the grammar state the next token is generated in: human, ai,
// quoted), and a binary one predicting a transition (a tag token) within the
// next `horizon` tokens. Trained on teacher-forced tagged documents; held-out
// accuracy per layer; saved as JSON; applied to generated samples.
#pragma once
#include <torch/torch.h>

#include <string>
#include <vector>

#include "core/json_io.hpp"
#include "corpus/lint.hpp"
#include "decode/generator.hpp"
#include "model/llama.hpp"
#include "tokenizer/tokenizer.hpp"

namespace prealign {

// One linear classifier over standardised features: softmax(((x - mean) / std) W + b).
struct LinearProbe {
  torch::Tensor mean, std, weight, bias;  // (C), (C), (C, K), (K)
  torch::Tensor predict_proba(const torch::Tensor& x) const;  // (N, C) -> (N, K)
  json to_json() const;
  static LinearProbe from_json(const json& j, const std::string& where);
};

// Features and labels of teacher-forced documents, one row per token position.
struct ProbeData {
  std::vector<torch::Tensor> features;  // per layer (N, C)
  torch::Tensor mode;                   // (N) int64: state index after the token
  torch::Tensor transition;             // (N) int64: 1 if a tag comes within the horizon
};

// Tokens of a tagged text as the tokenizer sees a tagged corpus ([BOS] + pieces),
// each position's grammar state after it, and whether a tag follows within `horizon`.
struct LabelledTokens {
  std::vector<int> ids;
  std::vector<int> state;
  std::vector<int> transition;
};
LabelledTokens label_tokens(const std::string& text, const Tokenizer& tok, const ModeGrammar& g, int horizon,
                            size_t max_len);

ProbeData collect_probe_data(LlamaModel& model, const Tokenizer& tok, const ModeGrammar& g,
                             const std::vector<std::string>& texts, int horizon);

// Full-batch training with Adam and L2 regularisation; deterministic (seeded init at zero).
LinearProbe train_linear_probe(const torch::Tensor& x, const torch::Tensor& y, int classes, int steps = 300,
                               double lr = 0.05, double l2 = 1e-4);
double probe_accuracy(const LinearProbe& p, const torch::Tensor& x, const torch::Tensor& y);

struct ProbeSet {
  std::vector<std::string> states;  // mode class names
  int horizon = 4;
  int best_layer = 0;  // highest held-out mode accuracy
  std::vector<LinearProbe> mode, transition;  // per layer
  json report;                                // accuracies per layer, class balance
  json to_json() const;
  static ProbeSet load(const std::string& path);
};

}  // namespace prealign

namespace prealign {

// Trains mode and transition probes at every layer on the first (1 - heldout)
// of `texts`, measures accuracy on the rest; report per layer with baselines.
ProbeSet train_probes(LlamaModel& model, const Tokenizer& tok, const ModeGrammar& g,
                      const std::vector<std::string>& texts, double heldout, int horizon, int steps);
// Accuracy per layer of trained probes on other documents.
json evaluate_probes(const ProbeSet& probes, const ProbeData& data);

// The probe as a monitor of a generated sample: teacher-force context + tokens,
// read the best layer's mode probabilities at every generated position.
struct ProbeReading {
  std::vector<std::vector<float>> mode;  // per generated token: p(state)
  std::vector<float> transition;         // per generated token: p(tag within horizon)
};
ProbeReading read_probe(LlamaModel& model, const ProbeSet& probes, const std::vector<int>& context,
                        const std::vector<int>& generated);

// The probe as a live monitor inside the decode loop (generate --probe): at every
// chosen token, the best layer's p(mode) for each mode ("probe_<mode>") and
// p(transition) ("probe_transition") from the residual the token was chosen at —
// what read_probe gives after the fact. With an alarm, a token where
// p(alarm_mode) > threshold while the policy is in another state gets the flag
// "probe:<mode>" (e.g. the model drifting into human mode inside <AI>).
struct ProbeAlarm {
  std::string mode;  // "" = no alarm
  float threshold = 0.9f;
  static ProbeAlarm parse(const std::string& spec, const ProbeSet& probes);  // "human:0.9"
};
ResidualMonitor probe_monitor(const ProbeSet& probes, const ProbeAlarm& alarm);

}  // namespace prealign
