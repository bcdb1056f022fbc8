// KL(model || base) per token (src/eval/kl.hpp): zero for a model against
// itself, equal to a plain double-precision loop over the softmaxes otherwise,
// and padding in a batch changes nothing.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "eval/kl.hpp"
#include "model/config.hpp"
#include "test_util.hpp"

using namespace prealign;

namespace {

LlamaModel random_model(int vocab, uint64_t seed) {
  torch::manual_seed(seed);
  LlamaModel m(ModelConfig::parse("dim=32,layers=2,heads=4,hidden=64,ctx=64", vocab));
  torch::NoGradGuard no_grad;
  for (auto& p : m->parameters())
    if (p.dim() == 2) p.normal_(0.0, 1.0 / std::sqrt(double(p.size(1))));
  m->eval();
  return m;
}

std::vector<std::vector<int>> random_sequences(int vocab, size_t n, uint64_t seed) {
  std::mt19937 rng(static_cast<unsigned>(seed));
  std::vector<std::vector<int>> out;
  for (size_t i = 0; i < n; ++i) {
    std::vector<int> s(5 + rng() % 20);
    for (int& t : s) t = int(rng() % unsigned(vocab));
    out.push_back(s);
  }
  return out;
}

// Softmax of one row in double precision.
std::vector<double> softmax(const torch::Tensor& row) {
  auto r = row.to(torch::kDouble).contiguous();
  const double* x = r.data_ptr<double>();
  double mx = -1e300, z = 0;
  for (int64_t v = 0; v < r.numel(); ++v) mx = std::max(mx, x[v]);
  std::vector<double> p(size_t(r.numel()));
  for (int64_t v = 0; v < r.numel(); ++v) z += p[size_t(v)] = std::exp(x[v] - mx);
  for (double& q : p) q /= z;
  return p;
}

}  // namespace

TEST(Kl, IsZeroForAModelAgainstItself) {
  LlamaModel m = random_model(50, 1);
  const auto seqs = random_sequences(50, 6, 2);
  const KlResult r = kl_on_sequences(m, m, seqs, 4);
  EXPECT_NEAR(r.mean, 0.0, 1e-6);
  EXPECT_NEAR(r.max_position, 0.0, 1e-5);
  size_t positions = 0;
  for (const auto& s : seqs) positions += s.size();
  EXPECT_EQ(r.positions, positions);
  EXPECT_EQ(r.sequences, seqs.size());
}

TEST(Kl, MatchesADoublePrecisionLoopAndIgnoresPadding) {
  LlamaModel a = random_model(50, 1), b = random_model(50, 9);
  const auto seqs = random_sequences(50, 7, 3);
  torch::NoGradGuard no_grad;
  double sum = 0, mx = 0;
  size_t n = 0;
  std::vector<double> per_sequence;
  for (const auto& s : seqs) {
    std::vector<int64_t> ids(s.begin(), s.end());
    const auto x = torch::tensor(ids).view({1, -1});
    const auto la = a->forward(x)[0], lb = b->forward(x)[0];  // (T, V)
    double own = 0;
    for (int64_t t = 0; t < la.size(0); ++t) {
      const auto p = softmax(la[t]), q = softmax(lb[t]);
      double kl = 0;
      for (size_t v = 0; v < p.size(); ++v) kl += p[v] * (std::log(p[v]) - std::log(q[v]));
      own += kl;
      mx = std::max(mx, kl);
      ++n;
    }
    sum += own;
    per_sequence.push_back(own / double(s.size()));
  }
  for (int batch : {1, 3, 8}) {  // one sequence at a time, and padded batches
    const KlResult r = kl_on_sequences(a, b, seqs, batch);
    EXPECT_NEAR(r.mean, sum / double(n), 1e-4 * sum / double(n)) << batch;
    EXPECT_NEAR(r.max_position, mx, 1e-4 * mx) << batch;
    ASSERT_EQ(r.per_sequence.size(), per_sequence.size());
    for (size_t i = 0; i < per_sequence.size(); ++i) EXPECT_NEAR(r.per_sequence[i], per_sequence[i], 1e-4 * per_sequence[i]);
  }
  EXPECT_GT(sum / double(n), 0.01);  // two different random models do differ
}

TEST(Kl, RefusesModelsWithDifferentVocabularies) {
  LlamaModel a = random_model(50, 1), b = random_model(60, 1);
  EXPECT_THROW(kl_on_sequences(a, b, {{1, 2, 3}}, 1), Error);
}
