// Batched decoding against one-at-a-time decoding: left-padded prefill gives
// each row the logits it has alone, and decode_batch gives each sequence the
// tokens, states and temptation decode_context gives it, including sequences
// that finish early and leave the batch.
#include <set>

#include "core/error.hpp"
#include "decode/generator.hpp"
#include "decode_fixture.hpp"

namespace prealign {
namespace {

using namespace prealign::testing;

constexpr int kVocab = 64;

std::string text_of(int id) { return "t" + std::to_string(id) + " "; }

LlamaModel random_model(uint64_t seed) { return testing::random_model(kVocab, 96, seed); }

torch::Tensor ids_tensor(const std::vector<int64_t>& ids) {
  return torch::tensor(ids, torch::kLong).view({1, -1});
}

TEST(DecodeBatch, LeftPaddedRowsComputeWhatTheyComputeAlone) {
  LlamaModel m = random_model(7);
  torch::NoGradGuard no_grad;
  const std::vector<std::vector<int64_t>> seqs = {{1, 9, 10, 11, 12, 13, 14, 15, 16}, {1, 30, 31}, {1, 40, 41, 42, 43}};
  const int64_t T = 9;
  std::vector<int64_t> flat, pad;
  for (const auto& s : seqs) {
    pad.push_back(T - int64_t(s.size()));
    flat.insert(flat.end(), T - s.size(), 0);
    flat.insert(flat.end(), s.begin(), s.end());
  }
  KVCache batch_cache;
  batch_cache.left_pad = pad;
  torch::Tensor batch_logits = m->forward_full(torch::tensor(flat).view({3, T}), &batch_cache).logits;  // (3, T, V)
  // Two decode steps for everyone, then compare every real position with a lone run.
  torch::Tensor step1 = m->forward_full(torch::tensor({50, 51, 52}).view({3, 1}), &batch_cache).logits;
  torch::Tensor step2 = m->forward_full(torch::tensor({53, 54, 55}).view({3, 1}), &batch_cache).logits;
  for (size_t b = 0; b < seqs.size(); ++b) {
    std::vector<int64_t> alone = seqs[b];
    alone.push_back(50 + int64_t(b));
    alone.push_back(53 + int64_t(b));
    torch::Tensor ref = m->forward(ids_tensor(alone))[0];  // (n + 2, V)
    const int64_t n = int64_t(seqs[b].size());
    torch::Tensor got = torch::cat({batch_logits[b].narrow(0, pad[b], n), step1[b], step2[b]}, 0);
    EXPECT_LT((got - ref).abs().max().item<double>(), 1e-4) << "row " << b;
    EXPECT_GT(ref.abs().max().item<double>(), 0.5);  // not vacuous
  }
}

TEST(DecodeBatch, SelectRowsKeepsTheSurvivorsCaches) {
  LlamaModel m = random_model(8);
  torch::NoGradGuard no_grad;
  KVCache cache;
  cache.left_pad = {0, 2, 1};
  m->forward_full(torch::tensor({1, 2, 3, 4, 0, 0, 1, 5, 0, 1, 6, 7}).view({3, 4}), &cache);
  cache.select_rows({2, 0});
  torch::Tensor got = m->forward_full(torch::tensor({8, 9}).view({2, 1}), &cache).logits;  // rows: old 2, old 0
  torch::Tensor ref2 = m->forward(ids_tensor({1, 6, 7, 8}))[0][-1];
  torch::Tensor ref0 = m->forward(ids_tensor({1, 2, 3, 4, 9}))[0][-1];
  EXPECT_LT((got[0][0] - ref2).abs().max().item<double>(), 1e-4);
  EXPECT_LT((got[1][0] - ref0).abs().max().item<double>(), 1e-4);
  EXPECT_EQ(cache.left_pad, (std::vector<int64_t>{1, 0}));
}

// What the continuous-batching engine does to a running cache: a newcomer
// longer than the batch joins (the others get more padding in front), then
// leaves (the padding common to all rows goes). The rows compute what they
// compute alone throughout.
TEST(DecodeBatch, AppendedRowsAndTrimmedPaddingComputeWhatTheyComputeAlone) {
  LlamaModel m = random_model(10);
  torch::NoGradGuard no_grad;
  KVCache cache;
  cache.left_pad = {0, 2};
  m->forward_full(torch::tensor({1, 2, 3, 4, 5, 0, 0, 1, 6, 7}).view({2, 5}), &cache);
  KVCache fresh;
  m->forward_full(ids_tensor({1, 8, 9, 10, 11, 12, 13, 14}), &fresh);
  cache.append_rows(fresh);
  EXPECT_EQ(cache.length, 8);
  EXPECT_EQ(cache.left_pad, (std::vector<int64_t>{3, 5, 0}));
  torch::Tensor got = m->forward_full(torch::tensor({20, 21, 22}).view({3, 1}), &cache).logits;  // (3, 1, V)
  const std::vector<std::vector<int64_t>> alone = {{1, 2, 3, 4, 5, 20}, {1, 6, 7, 21}, {1, 8, 9, 10, 11, 12, 13, 14, 22}};
  for (size_t b = 0; b < alone.size(); ++b) {
    torch::Tensor ref = m->forward(ids_tensor(alone[b]))[0][-1];
    EXPECT_LT((got[int64_t(b)][0] - ref).abs().max().item<double>(), 1e-4) << "row " << b;
  }
  cache.select_rows({0, 1});  // the long one leaves
  cache.trim_padding();
  EXPECT_EQ(cache.length, 6);
  EXPECT_EQ(cache.left_pad, (std::vector<int64_t>{0, 2}));
  got = m->forward_full(torch::tensor({23, 24}).view({2, 1}), &cache).logits;
  for (int64_t b = 0; b < 2; ++b) {
    std::vector<int64_t> seq = alone[size_t(b)];
    seq.push_back(23 + b);
    torch::Tensor ref = m->forward(ids_tensor(seq))[0][-1];
    EXPECT_LT((got[b][0] - ref).abs().max().item<double>(), 1e-4) << "row " << b << " after trimming";
  }
}

void expect_same(const Generation& batch, const Generation& alone, const std::string& what) {
  ASSERT_EQ(batch.tokens.size(), alone.tokens.size()) << what;
  EXPECT_EQ(batch.finish_reason, alone.finish_reason) << what;
  for (size_t t = 0; t < alone.tokens.size(); ++t) {
    EXPECT_EQ(batch.tokens[t].id, alone.tokens[t].id) << what << " token " << t;
    EXPECT_EQ(batch.tokens[t].state, alone.tokens[t].state) << what << " token " << t;
    EXPECT_NEAR(batch.tokens[t].temptation_total, alone.tokens[t].temptation_total, 1e-5) << what << " token " << t;
    EXPECT_NEAR(batch.tokens[t].p_chosen, alone.tokens[t].p_chosen, 1e-4) << what << " token " << t;
  }
}

TEST(DecodeBatch, SameGenerationsAsOneAtATime) {
  const TagVocabulary v = test_vocabulary(kVocab);
  const Policy policy = shipped_policy("ai_mode", v);
  // Tags tempting enough that sequences open quotes, close them and stop on </AI>
  // at different times, so rows leave the batch while others go on.
  std::map<int, float> boost = {{kAiClose, 2.0f}, {kQuoteOpen, 3.0f}, {kQuoteClose, 3.0f}, {v.eos_id, 1.0f}};
  LlamaModel m = steered_model(kVocab, boost, 96, 3);
  std::vector<std::vector<int>> contexts;
  std::vector<int> states;
  std::vector<uint64_t> seeds;
  for (int i = 0; i < 12; ++i) {
    std::vector<int> c{1};
    for (int j = 0; j < 1 + (i * 5) % 11; ++j) c.push_back(20 + (i * 7 + j * 3) % 40);  // prompts of 1..11 tokens
    c.push_back(kAiOpen);
    contexts.push_back(c);
    states.push_back(policy.state_after_start());
    seeds.push_back(100 + i);
  }
  for (const bool greedy : {true, false}) {
    GenerateOptions o;
    o.max_new_tokens = 40;
    o.greedy = greedy;
    o.temperature = greedy ? 1.0 : 0.9;
    o.top_p = greedy ? 1.0 : 0.95;
    std::vector<Generation> batch = decode_batch(m, policy, contexts, states, o, seeds, text_of);
    ASSERT_EQ(batch.size(), contexts.size());
    std::set<size_t> lengths;
    for (size_t i = 0; i < contexts.size(); ++i) {
      o.seed = seeds[i];
      const Generation alone = decode_context(m, policy, contexts[i], states[i], o, text_of);
      expect_same(batch[i], alone, std::string(greedy ? "greedy" : "sampled") + " sequence " + std::to_string(i));
      lengths.insert(alone.tokens.size());
    }
    if (!greedy) {
      EXPECT_GE(lengths.size(), 3u) << "sequences should finish at different times";
    }
  }
}

TEST(DecodeBatch, EmptyBatchAndMismatchedArguments) {
  const TagVocabulary v = test_vocabulary(kVocab);
  const Policy policy = shipped_policy("ai_mode", v);
  LlamaModel m = random_model(9);
  GenerateOptions o;
  EXPECT_TRUE(decode_batch(m, policy, {}, {}, o, {}, text_of).empty());
  EXPECT_THROW(decode_batch(m, policy, {{1, kAiOpen}}, {}, o, {1}, text_of), Error);
}

}  // namespace
}  // namespace prealign
