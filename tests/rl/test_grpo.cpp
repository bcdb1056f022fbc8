// The GRPO arithmetic (rl/grpo_loss.hpp): the loss and its gradient against an
// independent PyTorch-Python reference, group-normalised advantages by hand, and
// the constrained log-probabilities against a double-precision softmax.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstdlib>

#include "core/error.hpp"
#include "core/files.hpp"
#include "decode/decode_fixture.hpp"
#include "decode/rules_fixture.hpp"
#include "rl/grpo_loss.hpp"
#include "test_util.hpp"

using namespace prealign;
using namespace prealign::testing;
using torch::Tensor;

namespace {

// ai_mode with biases on two tags, so bans and biases both shape the distribution.
Policy biased_ai_mode() {
  return edited_policy("ai_mode", test_vocabulary(), [](json& j) {
    j["bias"] = {{"<AI_quoting_human>", 1.5}, {"</AI>", -0.5}, {"<|good|>", 2.0}};
  });
}

void write_tensor(const std::string& path, const Tensor& t) {
  Tensor c = t.contiguous().cpu();
  write_file_atomic(path, std::string(static_cast<const char*>(c.data_ptr()), c.nbytes()));
}

Tensor read_doubles(const std::string& path, std::vector<int64_t> shape) {
  std::string raw = read_file(path);
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  EXPECT_EQ(raw.size(), size_t(n) * sizeof(double));
  return torch::from_blob(raw.data(), shape, torch::kFloat64).clone();
}

// The specification written out in Python, element by element where it matters:
// bans as -inf, biases only where not banned, temperature, log-softmax, the
// clipped surrogate, k3, mean over a sequence's tokens, mean over sequences.
const char* kReference = R"(import json, sys, torch
d = sys.argv[1]
c = json.load(open(d + "/spec.json"))
B, T, V = c["B"], c["T"], c["V"]
def load(name, dtype, shape):
    return torch.frombuffer(bytearray(open(d + "/" + name, "rb").read()), dtype=dtype).reshape(shape)
logits = load("logits", torch.float32, (B, T, V)).double().requires_grad_(True)
states = load("states", torch.int64, (B, T)); tokens = load("tokens", torch.int64, (B, T))
mask = load("mask", torch.uint8, (B, T)); old = load("old", torch.float32, (B, T)).double()
ref = load("ref", torch.float32, (B, T)).double(); adv = load("adv", torch.float32, (B,)).double()
eps, beta, temp = c["clip"], c["beta"], c["temperature"]
total = 0.0
clipped = 0
kl_sum = 0.0
for b in range(B):
    terms = []
    for t in range(T):
        if not mask[b, t]: continue
        s = int(states[b, t])
        row = logits[b, t].clone()
        for tok, bias in c["bias"].items():
            if int(tok) not in c["banned"][s]: row[int(tok)] = row[int(tok)] + bias
        for tok in c["banned"][s]: row[tok] = float("-inf")
        lp = torch.log_softmax(row / temp, 0)[int(tokens[b, t])]
        ratio = torch.exp(lp - old[b, t])
        a = adv[b]
        surrogate = torch.minimum(ratio * a, torch.clamp(ratio, 1 - eps, 1 + eps) * a)
        k3 = torch.exp(ref[b, t] - lp) - (ref[b, t] - lp) - 1
        terms.append(-surrogate + beta * k3)
        if (ratio.item() < 1 - eps and a < 0) or (ratio.item() > 1 + eps and a > 0): clipped += 1
        kl_sum += k3.item()
    if terms: total = total + torch.stack(terms).mean()
loss = total / B
loss.backward()
json.dump({"loss": loss.item(), "clipped": clipped, "kl_sum": kl_sum}, open(d + "/out.json", "w"))
open(d + "/grad.f64", "wb").write(logits.grad.contiguous().numpy().tobytes())
)";

bool have_python_torch() { return std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") == 0; }

}  // namespace

TEST(GrpoLoss, MatchesPythonReferenceInValueAndGradient) {
  if (!have_python_torch()) GTEST_SKIP() << "python3-torch not installed";
  const std::string dir = temp_dir();
  const Policy policy = biased_ai_mode();
  const int64_t B = 5, T = 7, V = 64;
  const double temperature = 0.8, clip = 0.2, beta = 0.1;
  torch::manual_seed(3);
  Tensor logits = (2 * torch::randn({B, T, V})).requires_grad_(true);  // (B, T, V)
  Tensor states = torch::randint(0, 3, {B, T}, torch::kLong);
  Tensor tokens = torch::zeros({B, T}, torch::kLong);
  Tensor mask = torch::ones({B, T}, torch::kBool);
  mask.index_put_({1, torch::indexing::Slice(3)}, false);  // shorter sequences
  mask.index_put_({3, torch::indexing::Slice(5)}, false);
  Rng rng(11);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t) {  // a token allowed in its state; tags often
      const int s = static_cast<int>(states[b][t].item<int64_t>());
      int id;
      do id = (rng() % 3 == 0) ? kGood + int(rng() % 6) : int(rng() % V);
      while (policy.is_banned(s, id));
      tokens[b][t] = id;
    }
  const Tensor table = constraint_table(policy, int(V));
  const Tensor logp = constrained_token_log_probs(logits, table, states, tokens, mask, temperature);
  // Old and reference log-probs away from the current ones, so ratios leave [1-ε, 1+ε] both ways.
  const Tensor old = (logp.detach() + 0.3 * torch::randn({B, T})).masked_fill(~mask, 0);
  const Tensor ref = (logp.detach() + 0.5 * torch::randn({B, T})).masked_fill(~mask, 0);
  const Tensor adv = torch::randn({B});
  GrpoLossOptions o;
  o.clip = clip;
  o.kl_coef = beta;
  GrpoLoss l = grpo_loss(logp, old, ref, adv, mask, o);
  Tensor loss = l.per_sequence.mean();
  loss.backward();

  json banned = json::array();
  for (const PolicyState& s : policy.states()) {
    std::vector<int> ids = s.banned;
    if (!s.end_allowed) ids.push_back(policy.eos_id());
    banned.push_back(ids);
  }
  json bias = json::object();
  for (const auto& [id, b] : policy.bias()) bias[std::to_string(id)] = b;
  write_file_atomic(dir + "/spec.json", json{{"B", B}, {"T", T}, {"V", V}, {"temperature", temperature}, {"clip", clip},
                                             {"beta", beta}, {"banned", banned}, {"bias", bias}}.dump());
  write_tensor(dir + "/logits", logits.detach());
  write_tensor(dir + "/states", states);
  write_tensor(dir + "/tokens", tokens);
  write_tensor(dir + "/mask", mask.to(torch::kUInt8));
  write_tensor(dir + "/old", old);
  write_tensor(dir + "/ref", ref);
  write_tensor(dir + "/adv", adv);
  write_file_atomic(dir + "/reference.py", kReference);
  ASSERT_EQ(std::system(("/usr/bin/python3 " + dir + "/reference.py " + dir).c_str()), 0);

  const json out = read_json_file(dir + "/out.json");
  EXPECT_NEAR(loss.item<double>(), out["loss"].get<double>(), 1e-5);
  const int clipped = l.clipped.sum().item<int>();
  EXPECT_EQ(clipped, out["clipped"].get<int>());
  EXPECT_GT(clipped, 0) << "the test must exercise the clip";
  EXPECT_LT(clipped, mask.sum().item<int>());
  EXPECT_NEAR(l.kl.sum().item<double>(), out["kl_sum"].get<double>(), 1e-4);
  const Tensor theirs = read_doubles(dir + "/grad.f64", {B, T, V});
  const Tensor ours = logits.grad().to(torch::kFloat64);
  EXPECT_LT((ours - theirs).abs().max().item<double>(), 1e-6);
  EXPECT_GT(theirs.abs().max().item<double>(), 1e-3) << "a gradient to compare";
}

TEST(GrpoLoss, FirstPassHasRatioOneAndPolicyGradientSign) {
  // ratio 1, no KL: loss = -mean(A) per token, gradient raises log p of positive-advantage tokens.
  torch::manual_seed(4);
  Tensor x = torch::randn({2, 3}).requires_grad_(true);  // stands for log-probs (B, T)
  Tensor mask = torch::ones({2, 3}, torch::kBool);
  Tensor adv = torch::tensor({1.0f, -2.0f});
  GrpoLoss l = grpo_loss(x, x.detach(), Tensor(), adv, mask, GrpoLossOptions{});
  EXPECT_TRUE(torch::allclose(l.ratio, torch::ones({2, 3})));
  Tensor loss = l.per_sequence.mean();
  EXPECT_NEAR(loss.item<double>(), -(1.0 - 2.0) / 2, 1e-6);
  loss.backward();
  // d loss / d x[b,t] = -A_b / (T_b * B)
  EXPECT_NEAR(x.grad()[0][0].item<double>(), -1.0 / 6, 1e-6);
  EXPECT_NEAR(x.grad()[1][2].item<double>(), 2.0 / 6, 1e-6);
  EXPECT_EQ(l.clipped.sum().item<int>(), 0);
}

TEST(GrpoLoss, RefusesBadSettings) {
  Tensor x = torch::zeros({1, 2});
  Tensor mask = torch::ones({1, 2}, torch::kBool);
  GrpoLossOptions o;
  o.clip = 1.5;
  EXPECT_THROW(grpo_loss(x, x, Tensor(), torch::zeros({1}), mask, o), Error);
  o.clip = 0.2;
  o.kl_coef = 0.1;  // a KL coefficient without reference log-probs
  EXPECT_THROW(grpo_loss(x, x, Tensor(), torch::zeros({1}), mask, o), Error);
}

TEST(GroupAdvantages, NormalisedWithinEachGroup) {
  const Advantages a = group_advantages({1, 0, 0, 0, 0.5, 0.5, 0.5, 0.5, 2, 4, 6, 8}, 4, 1e-4);
  // Group 1: mean 0.25, sample sd sqrt((0.5625 + 3 * 0.0625) / 3) = 0.5.
  EXPECT_NEAR(a.values[0], 0.75 / 0.5001, 1e-12);
  EXPECT_NEAR(a.values[1], -0.25 / 0.5001, 1e-12);
  // Group 2: all equal -> exactly zero, and counted.
  for (int i = 4; i < 8; ++i) EXPECT_EQ(a.values[i], 0.0);
  EXPECT_EQ(a.zero_variance_groups, 1);
  // Group 3: mean 5, sd sqrt(20 / 3).
  const double sd = std::sqrt(20.0 / 3.0);
  EXPECT_NEAR(a.values[8], -3 / (sd + 1e-4), 1e-12);
  EXPECT_NEAR(a.values[11], 3 / (sd + 1e-4), 1e-12);
  double sum = 0;
  for (double v : a.values) sum += v;
  EXPECT_NEAR(sum, 0.0, 1e-12);
}

TEST(GroupAdvantages, AllGroupsFlatGiveNoSignal) {
  const Advantages a = group_advantages({0, 0, 1, 1, 0, 0}, 2);
  EXPECT_EQ(a.zero_variance_groups, 3);
  for (double v : a.values) EXPECT_EQ(v, 0.0);
}

TEST(GroupAdvantages, RefusesGroupsOfOneAndRaggedGroups) {
  try {
    group_advantages({1, 0}, 1);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "--group");
    EXPECT_NE(std::string(e.what()).find("at least 2"), std::string::npos);
  }
  EXPECT_THROW(group_advantages({1, 0, 1}, 2), Error);
}

TEST(ConstrainedLogProbs, BannedTagsGetNoMassAndTheRestRenormalises) {
  const Policy policy = biased_ai_mode();
  const int V = 64;
  const double temperature = 0.7;
  const Tensor table = constraint_table(policy, V);
  torch::manual_seed(8);
  for (int s = 0; s < 3; ++s) {
    Tensor raw = torch::randn({V});  // (V)
    raw[kBad] = 6.0f;                // a tempting tag, banned everywhere in ai_mode
    // Every token of the vocabulary at once: (1, V, V) logits, token t at position t.
    Tensor logits = raw.view({1, 1, V}).expand({1, V, V}).contiguous().requires_grad_(true);
    Tensor tokens = torch::arange(V, torch::kLong).view({1, V});
    Tensor states = torch::full({1, V}, s, torch::kLong);
    Tensor mask = torch::ones({1, V}, torch::kBool);
    Tensor lp = constrained_token_log_probs(logits, table, states, tokens, mask, temperature);  // (1, V)
    // The reference: double softmax over the allowed tokens of (raw + bias) / temperature.
    std::vector<float> adjusted(V);
    double z = 0;
    for (int id = 0; id < V; ++id) {
      double l = raw[id].item<double>();
      auto b = policy.bias().find(id);
      if (b != policy.bias().end()) l += b->second;
      adjusted[size_t(id)] = float(l / temperature);
      if (!policy.is_banned(s, id)) z += std::exp(l / temperature);
    }
    double mass = 0;
    int banned = 0;
    for (int id = 0; id < V; ++id) {
      const double got = lp[0][id].item<double>();
      if (policy.is_banned(s, id)) {
        EXPECT_TRUE(std::isinf(got) && got < 0) << "state " << s << " token " << id;
        ++banned;
        continue;
      }
      EXPECT_NEAR(std::exp(got), std::exp(double(adjusted[size_t(id)])) / z, 1e-6) << "state " << s << " token " << id;
      mass += std::exp(got);
    }
    EXPECT_NEAR(mass, 1.0, 1e-5);
    EXPECT_GE(banned, 4);
    // The gradient of allowed tokens' log-probs never reaches a banned logit.
    Tensor allowed = torch::where(torch::isinf(lp), torch::zeros_like(lp), lp).sum();
    allowed.backward();
    Tensor g = logits.grad()[0].sum(0);  // (V) summed over positions
    for (int id = 0; id < V; ++id)
      if (policy.is_banned(s, id)) EXPECT_EQ(g[id].item<double>(), 0.0) << "banned " << id;
  }
}

TEST(ConstrainedLogProbs, PaddingGivesZeroNotNaN) {
  const Policy policy = biased_ai_mode();
  const Tensor table = constraint_table(policy, 64);
  Tensor logits = torch::randn({1, 2, 64});
  Tensor tokens = torch::tensor({{int64_t(10), int64_t(kBad)}});  // the padded slot holds a banned id
  Tensor states = torch::tensor({{int64_t(1), int64_t(1)}});
  Tensor mask = torch::tensor({{true, false}});
  Tensor lp = constrained_token_log_probs(logits, table, states, tokens, mask, 1.0);
  EXPECT_TRUE(std::isfinite(lp[0][0].item<double>()));
  EXPECT_EQ(lp[0][1].item<double>(), 0.0);
}

TEST(ConstraintTable, RefusesPoliciesWithDynamicRules) {
  const Policy with_rules = rules_policy(policy_json("customer_service"));
  ASSERT_TRUE(with_rules.has_rules());
  try {
    constraint_table(with_rules, kRulesVocab);
    FAIL() << "a policy with rules was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dynamic rules"), std::string::npos) << e.what();
  }
}
