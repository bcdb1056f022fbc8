// The decoder against a plain double-precision reference written here from the
// Llama definition, plus KV-cache consistency, causality, GQA and HF names.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "core/error.hpp"
#include "model/llama.hpp"

using namespace prealign;
using torch::Tensor;

namespace {

ModelConfig small_config(int heads, int kv_heads, bool tie = true) {
  ModelConfig c;
  c.vocab_size = 53;
  c.dim = 32;
  c.n_layers = 2;
  c.n_heads = heads;
  c.n_kv_heads = kv_heads;
  c.hidden_dim = 48;
  c.max_seq_len = 24;
  c.rope_theta = 500.0;  // short wavelengths, so a RoPE mistake shows at small positions
  c.tie_embeddings = tie;
  return c;
}

// Random weights that are large enough for every mistake to show (the default
// init keeps activations tiny), including norm weights away from 1.
std::map<std::string, Tensor> random_hf_weights(const ModelConfig& c, uint64_t seed) {
  torch::manual_seed(seed);
  std::map<std::string, Tensor> w;
  for (const auto& [name, shape] : hf_tensor_shapes(c)) {
    if (shape.size() == 1)
      w[name] = 1.0 + 0.3 * torch::randn(shape);
    else
      w[name] = torch::randn(shape) / std::sqrt(double(shape[1]));
  }
  w["model.embed_tokens.weight"] = torch::randn({c.vocab_size, c.dim});
  return w;
}

LlamaModel model_with_weights(const ModelConfig& c, uint64_t seed) {
  LlamaModel m(c);
  m->load_hf_tensors(random_hf_weights(c, seed), "test weights");
  m->eval();
  return m;
}

// ---- reference: one sequence, double precision, loops where the model is clever ----

Tensor ref_rmsnorm(const Tensor& x, const Tensor& w, double eps) {  // x (T, C)
  Tensor out = torch::empty_like(x);
  for (int64_t t = 0; t < x.size(0); ++t) {
    double ms = 0;
    for (int64_t i = 0; i < x.size(1); ++i) ms += x[t][i].item<double>() * x[t][i].item<double>();
    ms /= double(x.size(1));
    out[t] = x[t] / std::sqrt(ms + eps) * w;
  }
  return out;
}

// rotate_half convention: pairs (i, i + hd/2) rotate by pos * theta^(-2i/hd).
Tensor ref_rope(const Tensor& x, double theta) {  // x (T, hd), positions 0..T-1
  const int64_t T = x.size(0), hd = x.size(1), half = hd / 2;
  Tensor out = torch::empty_like(x);
  auto a = x.accessor<double, 2>();
  auto o = out.accessor<double, 2>();
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < half; ++i) {
      double angle = double(t) * std::pow(theta, -2.0 * double(i) / double(hd));
      double c = std::cos(angle), s = std::sin(angle);
      o[t][i] = a[t][i] * c - a[t][i + half] * s;
      o[t][i + half] = a[t][i + half] * c + a[t][i] * s;
    }
  return out;
}

Tensor ref_silu(const Tensor& z) { return z / (1.0 + torch::exp(-z)); }

Tensor ref_layer(const Tensor& x, const std::map<std::string, Tensor>& w, int layer, const ModelConfig& c) {
  const std::string p = "model.layers." + std::to_string(layer) + ".";
  const int64_t T = x.size(0), hd = c.head_dim(), g = c.n_heads / c.n_kv_heads;
  Tensor h = ref_rmsnorm(x, w.at(p + "input_layernorm.weight"), c.norm_eps);
  Tensor q = h.matmul(w.at(p + "self_attn.q_proj.weight").t());  // (T, H*hd)
  Tensor k = h.matmul(w.at(p + "self_attn.k_proj.weight").t());  // (T, KV*hd)
  Tensor v = h.matmul(w.at(p + "self_attn.v_proj.weight").t());
  Tensor att = torch::zeros({T, c.dim}, x.options());
  for (int64_t head = 0; head < c.n_heads; ++head) {
    int64_t kvh = head / g;
    Tensor qh = ref_rope(q.narrow(1, head * hd, hd).contiguous(), c.rope_theta);
    Tensor kh = ref_rope(k.narrow(1, kvh * hd, hd).contiguous(), c.rope_theta);
    Tensor vh = v.narrow(1, kvh * hd, hd);
    for (int64_t t = 0; t < T; ++t) {
      std::vector<double> scores;
      double max_score = -1e300, total = 0;
      for (int64_t s = 0; s <= t; ++s) {  // causal: keys up to the query's position
        scores.push_back((qh[t] * kh[s]).sum().item<double>() / std::sqrt(double(hd)));
        max_score = std::max(max_score, scores.back());
      }
      for (auto& sc : scores) total += (sc = std::exp(sc - max_score));
      for (int64_t s = 0; s <= t; ++s) att[t].narrow(0, head * hd, hd) += scores[s] / total * vh[s];
    }
  }
  Tensor x1 = x + att.matmul(w.at(p + "self_attn.o_proj.weight").t());
  Tensor h2 = ref_rmsnorm(x1, w.at(p + "post_attention_layernorm.weight"), c.norm_eps);
  Tensor a = ref_silu(h2.matmul(w.at(p + "mlp.gate_proj.weight").t())) * h2.matmul(w.at(p + "mlp.up_proj.weight").t());
  return x1 + a.matmul(w.at(p + "mlp.down_proj.weight").t());
}

struct RefOutput {
  std::vector<Tensor> residual;  // per layer (T, C)
  Tensor logits;                 // (T, V)
};

RefOutput ref_forward(const std::vector<int64_t>& tokens, std::map<std::string, Tensor> w, const ModelConfig& c) {
  for (auto& [name, t] : w) t = t.to(torch::kFloat64);
  RefOutput out;
  Tensor x = torch::stack(std::vector<Tensor>([&] {
    std::vector<Tensor> rows;
    for (auto id : tokens) rows.push_back(w.at("model.embed_tokens.weight")[id]);
    return rows;
  }()));
  for (int l = 0; l < c.n_layers; ++l) {
    x = ref_layer(x, w, l, c);
    out.residual.push_back(x);
  }
  Tensor h = ref_rmsnorm(x, w.at("model.norm.weight"), c.norm_eps);
  Tensor head = c.tie_embeddings ? w.at("model.embed_tokens.weight") : w.at("lm_head.weight");
  out.logits = h.matmul(head.t());
  return out;
}

double max_diff(const Tensor& a, const Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

Tensor token_tensor(const std::vector<int64_t>& ids) { return torch::tensor(ids, torch::kLong).unsqueeze(0); }

const std::vector<int64_t> kTokens = {5, 17, 0, 52, 33, 8, 8, 41, 19, 2, 27, 11, 44};

}  // namespace

// ---------------------------------------------------------------------------

class ReferenceMath : public ::testing::TestWithParam<std::tuple<int, int, bool>> {};

TEST_P(ReferenceMath, LayersAndLogitsMatchPlainImplementation) {
  auto [heads, kv_heads, tie] = GetParam();
  ModelConfig c = small_config(heads, kv_heads, tie);
  auto weights = random_hf_weights(c, 7);
  LlamaModel m(c);
  m->load_hf_tensors(weights, "test weights");
  torch::NoGradGuard no_grad;
  ForwardOutput got = m->forward_full(token_tensor(kTokens), nullptr, /*keep_residual=*/true);
  RefOutput want = ref_forward(kTokens, weights, c);

  ASSERT_EQ(got.residual.size(), size_t(c.n_layers));
  // One layer from identical inputs: the layer math alone.
  EXPECT_LT(max_diff(got.residual[0][0], want.residual[0]), 1e-5);
  // Whole model: errors add up over layers, and logits are ~10x larger.
  EXPECT_LT(max_diff(got.logits[0], want.logits), 1e-4);
  // The check is not vacuous: values are O(1).
  EXPECT_GT(want.residual[0].abs().max().item<double>(), 0.5);
  EXPECT_GT(want.logits.abs().max().item<double>(), 1.0);
}

INSTANTIATE_TEST_SUITE_P(Model, ReferenceMath,
                         ::testing::Values(std::make_tuple(4, 4, true), std::make_tuple(4, 2, true),
                                           std::make_tuple(4, 1, false)));

TEST(Llama, ReferenceCatchesAWrongLayer) {
  // Guard against a reference that agrees with anything: perturb one weight.
  ModelConfig c = small_config(4, 4);
  auto weights = random_hf_weights(c, 7);
  LlamaModel m(c);
  m->load_hf_tensors(weights, "test weights");
  weights["model.layers.0.self_attn.k_proj.weight"][0][0] += 0.1;
  torch::NoGradGuard no_grad;
  auto got = m->forward_full(token_tensor(kTokens), nullptr, true);
  EXPECT_GT(max_diff(got.residual[0][0], ref_forward(kTokens, weights, c).residual[0]), 1e-4);
}

// Full-sequence logits vs. decoding with the KV cache in several chunkings.
void expect_cache_matches(const ModelConfig& c, int64_t batch) {
  LlamaModel m = model_with_weights(c, 11);
  torch::NoGradGuard no_grad;
  torch::manual_seed(3);
  Tensor tokens = torch::randint(0, c.vocab_size, {batch, 14}, torch::kLong);
  Tensor full = m->forward(tokens);  // (B, T, V)
  const std::vector<std::vector<int64_t>> chunkings = {
      std::vector<int64_t>(14, 1),  // token by token
      {5, 1, 1, 1, 1, 1, 1, 1, 1, 1},  // prefill, then steps
      {5, 4, 1, 3, 1},              // prefill after a cached prefix (T_new > 1)
  };
  for (const auto& chunks : chunkings) {
    KVCache cache;
    std::vector<Tensor> pieces;
    int64_t pos = 0;
    for (int64_t n : chunks) {
      pieces.push_back(m->forward_full(tokens.narrow(1, pos, n), &cache).logits);
      pos += n;
      EXPECT_EQ(cache.length, pos);
    }
    ASSERT_EQ(pos, 14);
    Tensor cached = torch::cat(pieces, 1);
    EXPECT_LT(max_diff(cached, full), 1e-4) << "chunking starting " << chunks[0] << "," << chunks[1];
    EXPECT_EQ(cache.k[0].size(2), 14);
  }
}

TEST(Llama, KVCacheMatchesFullSequence) { expect_cache_matches(small_config(4, 4), 1); }
TEST(Llama, KVCacheMatchesFullSequenceBatched) { expect_cache_matches(small_config(4, 4), 3); }
TEST(Llama, GroupedQueryKVCacheMatchesFullSequence) { expect_cache_matches(small_config(4, 2), 2); }

TEST(Llama, CacheClearStartsOver) {
  ModelConfig c = small_config(4, 2);
  LlamaModel m = model_with_weights(c, 5);
  torch::NoGradGuard no_grad;
  KVCache cache;
  Tensor first = m->forward_full(token_tensor({1, 2, 3}), &cache).logits;
  cache.clear();
  EXPECT_EQ(cache.length, 0);
  Tensor again = m->forward_full(token_tensor({1, 2, 3}), &cache).logits;
  EXPECT_LT(max_diff(first, again), 1e-6);
}

TEST(Llama, EarlierLogitsIgnoreLaterTokens) {
  ModelConfig c = small_config(4, 2);
  LlamaModel m = model_with_weights(c, 9);
  torch::NoGradGuard no_grad;
  auto changed = kTokens;
  changed[7] = (changed[7] + 1) % c.vocab_size;
  Tensor a = m->forward(token_tensor(kTokens))[0], b = m->forward(token_tensor(changed))[0];
  EXPECT_LT(max_diff(a.narrow(0, 0, 7), b.narrow(0, 0, 7)), 1e-6);
  for (int64_t t = 7; t < int64_t(kTokens.size()); ++t) EXPECT_GT(max_diff(a[t], b[t]), 1e-3) << "position " << t;
}

TEST(Llama, HfTensorsRoundTripAndMatchShapes) {
  for (bool tie : {true, false}) {
    ModelConfig c = small_config(4, 2, tie);
    LlamaModel m(c);
    auto expected = hf_tensor_shapes(c);
    auto got = m->hf_tensors();
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].first, expected[i].first);
      EXPECT_EQ(got[i].second.sizes().vec(), expected[i].second) << got[i].first;
    }
    auto weights = random_hf_weights(c, 1);
    m->load_hf_tensors(weights, "w");
    for (const auto& [name, t] : m->hf_tensors()) EXPECT_TRUE(torch::equal(t, weights.at(name))) << name;
  }
}

TEST(Llama, LoadHfTensorsRefusesMismatches) {
  ModelConfig c = small_config(4, 2);
  LlamaModel m(c);
  auto good = random_hf_weights(c, 1);
  auto expect_error = [&](std::map<std::string, Tensor> w, const std::string& needle) {
    try {
      m->load_hf_tensors(w, "weights.safetensors");
      ADD_FAILURE() << "no error for " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("weights.safetensors"), std::string::npos);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  auto missing = good;
  missing.erase("model.layers.1.mlp.up_proj.weight");
  expect_error(missing, "model.layers.1.mlp.up_proj.weight");
  auto misshapen = good;
  misshapen["model.layers.0.self_attn.k_proj.weight"] = torch::zeros({32, 32});
  expect_error(misshapen, "k_proj");
  auto extra = good;
  extra["model.layers.2.mlp.up_proj.weight"] = torch::zeros({48, 32});
  expect_error(extra, "model.layers.2");
  auto untied_head = good;
  untied_head["lm_head.weight"] = torch::zeros({c.vocab_size, c.dim});
  expect_error(untied_head, "lm_head.weight");
  auto nan = good;
  nan["model.norm.weight"] = good["model.norm.weight"].clone();  // the map copy shares storage
  nan["model.norm.weight"][3] = std::nan("");
  expect_error(nan, "model.norm.weight");
  // The failed loads left the model untouched, and a tied head equal to the embedding is accepted.
  auto tied_head = good;
  tied_head["lm_head.weight"] = good["model.embed_tokens.weight"].clone();
  EXPECT_NO_THROW(m->load_hf_tensors(tied_head, "w"));
}

TEST(Llama, InitFollowsTheRecipe) {
  ModelConfig c = ModelConfig::preset("small", 4096);
  torch::manual_seed(0);
  LlamaModel m(c);
  std::map<std::string, Tensor> w;
  for (auto& [name, t] : m->hf_tensors()) w[name] = t;
  auto std_of = [&](const std::string& name) { return w.at(name).std().item<double>(); };
  EXPECT_NEAR(std_of("model.embed_tokens.weight"), 0.02, 0.001);
  EXPECT_NEAR(std_of("model.layers.1.self_attn.q_proj.weight"), 0.02, 0.001);
  EXPECT_NEAR(std_of("model.layers.1.mlp.up_proj.weight"), 0.02, 0.001);
  const double out_std = 0.02 / std::sqrt(2.0 * c.n_layers);
  EXPECT_NEAR(std_of("model.layers.1.self_attn.o_proj.weight"), out_std, 0.001);
  EXPECT_NEAR(std_of("model.layers.3.mlp.down_proj.weight"), out_std, 0.001);
  EXPECT_TRUE(torch::equal(w.at("model.norm.weight"), torch::ones({c.dim})));
  EXPECT_TRUE(torch::equal(w.at("model.layers.0.input_layernorm.weight"), torch::ones({c.dim})));
  // Decay groups: every parameter exactly once, norms without decay.
  size_t n = m->decay_parameters().size() + m->no_decay_parameters().size();
  EXPECT_EQ(n, m->parameters().size());
  for (const auto& p : m->no_decay_parameters()) EXPECT_EQ(p.dim(), 1);
  for (const auto& p : m->decay_parameters()) EXPECT_EQ(p.dim(), 2);
  EXPECT_EQ(m->named_params().size(), m->parameters().size());
}

TEST(Llama, BadInputIsAnErrorNotACrash) {
  ModelConfig c = small_config(4, 4);
  LlamaModel m(c);
  torch::NoGradGuard no_grad;
  EXPECT_THROW(m->forward(token_tensor({1, 2, 53})), Error);                  // id >= vocab
  EXPECT_THROW(m->forward(token_tensor({-1})), Error);                        // negative id
  EXPECT_THROW(m->forward(torch::zeros({1, 25}, torch::kLong)), Error);       // > max_seq_len
  EXPECT_THROW(m->forward(torch::zeros({4}, torch::kLong)), Error);           // not (B, T)
  EXPECT_THROW(m->forward(torch::zeros({1, 3}, torch::kFloat)), Error);       // not integers
  KVCache cache;
  m->forward_full(torch::zeros({1, 20}, torch::kLong), &cache);
  EXPECT_THROW(m->forward_full(torch::zeros({1, 5}, torch::kLong), &cache), Error);  // cache + new > ctx
  EXPECT_THROW(m->forward_full(torch::zeros({2, 1}, torch::kLong), &cache), Error);  // batch changed
  // int32 tokens are fine
  EXPECT_NO_THROW(m->forward(torch::zeros({1, 3}, torch::kInt)));
}

TEST(Llama, GradientsReachEveryParameter) {
  ModelConfig c = small_config(4, 2, /*tie=*/false);
  LlamaModel m = model_with_weights(c, 2);
  m->train();
  Tensor tokens = torch::randint(0, c.vocab_size, {2, 9}, torch::kLong);
  Tensor logits = m->forward(tokens.narrow(1, 0, 8));
  Tensor loss = torch::nn::functional::cross_entropy(logits.reshape({-1, c.vocab_size}),
                                                     tokens.narrow(1, 1, 8).reshape({-1}));
  loss.backward();
  for (const auto& [name, p] : m->named_params()) {
    ASSERT_TRUE(p.grad().defined()) << name;
    EXPECT_GT(p.grad().abs().sum().item<double>(), 0.0) << name;
  }
}
