// Continuous batching against an independent reference: each sequence decoded
// alone by a SequenceDecoder fed the logits of a full forward pass over its
// whole sequence (no KV cache, no padding, no batch). Sequences that join a
// running batch at any step, longer or shorter than it, cancelled ones, and a
// batch whose rows together span more than the model's context.
#include <map>
#include <set>

#include "core/error.hpp"
#include "decode/batch_engine.hpp"
#include "decode_fixture.hpp"

namespace prealign {
namespace {

using namespace prealign::testing;

constexpr int kVocab = 64;

std::string text_of(int id) { return "t" + std::to_string(id) + " "; }

// The reference: no cache, one full forward per generated token.
Generation decode_uncached(LlamaModel& m, const Policy& policy, const std::vector<int>& context,
                           const GenerateOptions& o, uint64_t seed) {
  torch::NoGradGuard no_grad;
  SequenceDecoder d(policy, o, context, policy.state_after_start(), seed);
  std::vector<int64_t> seq(context.begin(), context.end());
  while (!d.done()) {
    torch::Tensor logits = m->forward(torch::tensor(seq, torch::kLong).view({1, -1}));  // (1, T, V)
    torch::Tensor last = logits.index({0, -1}).contiguous();                             // (V)
    seq.push_back(d.step(std::vector<float>(last.data_ptr<float>(), last.data_ptr<float>() + last.numel()),
                         m->config().max_seq_len, text_of));
  }
  return d.take();
}

void expect_same(const Generation& got, const Generation& ref, const std::string& what) {
  ASSERT_EQ(got.tokens.size(), ref.tokens.size()) << what;
  EXPECT_EQ(got.finish_reason, ref.finish_reason) << what;
  for (size_t t = 0; t < ref.tokens.size(); ++t) {
    ASSERT_EQ(got.tokens[t].id, ref.tokens[t].id) << what << " token " << t;
    EXPECT_EQ(got.tokens[t].state, ref.tokens[t].state) << what << " token " << t;
    EXPECT_NEAR(got.tokens[t].temptation_total, ref.tokens[t].temptation_total, 1e-5) << what << " token " << t;
    EXPECT_NEAR(got.tokens[t].p_chosen, ref.tokens[t].p_chosen, 1e-4) << what << " token " << t;
  }
}

// A prompt of `n` text tokens after BOS, then <AI> (ai_mode starts after the prompt).
std::vector<int> ai_context(int n, int salt) {
  std::vector<int> c{1};
  for (int j = 0; j < n; ++j) c.push_back(20 + (salt * 7 + j * 3) % 40);
  c.push_back(kAiOpen);
  return c;
}

struct Joiner {
  std::vector<int> context;
  int join_step;  // added before this step (0: before the first)
  uint64_t seed;
  int max_new_tokens = 0;  // 0: the options' own
};

GenerateOptions options_of(const Joiner& j, GenerateOptions o) {
  if (j.max_new_tokens > 0) o.max_new_tokens = j.max_new_tokens;
  return o;
}

// Runs the engine, adding each sequence before its join step; checks the
// shared cache never outgrows the model. Generations by joiner index.
std::vector<Generation> run_engine(LlamaModel& m, const std::shared_ptr<const Policy>& policy,
                                   const std::vector<Joiner>& joiners, const GenerateOptions& o,
                                   std::vector<size_t>* batch_sizes = nullptr) {
  BatchEngine engine(m, text_of);
  std::map<SequenceId, size_t> index;
  std::vector<Generation> out(joiners.size());
  size_t added = 0;
  for (int step = 0; added < joiners.size() || engine.active() > 0; ++step) {
    for (size_t i = 0; i < joiners.size(); ++i)
      if (joiners[i].join_step == step) {
        index[engine.add({joiners[i].context, policy->state_after_start(), policy, options_of(joiners[i], o),
                          joiners[i].seed, nullptr, nullptr})] = i;
        ++added;
      }
    for (FinishedSequence& f : engine.step()) {
      EXPECT_FALSE(f.error);
      out[index.at(f.id)] = std::move(f.generation);
    }
    EXPECT_LE(engine.cache_length(), m->config().max_seq_len) << "step " << step;
    if (batch_sizes) batch_sizes->push_back(engine.running());
  }
  return out;
}

// Every tag allowed, the end of text banned: only the length (or a cancel) ends a sequence.
std::shared_ptr<const Policy> endless(const TagVocabulary& v) {
  json allow = json::object();
  for (const auto& [name, id] : v.tags) allow[name] = "s";
  const json p = {{"name", "endless"}, {"initial_state", "s"}, {"states", {{"s", {{"allow", allow}, {"end", false}}}}}};
  return std::make_shared<const Policy>(Policy::from_json(p, v, "endless"));
}

GenerateOptions sampling(bool greedy, int max_new_tokens) {
  GenerateOptions o;
  o.max_new_tokens = max_new_tokens;
  o.greedy = greedy;
  o.temperature = greedy ? 1.0 : 0.9;
  o.top_p = greedy ? 1.0 : 0.95;
  return o;
}

TEST(BatchEngine, SequencesJoiningARunningBatchDecodeAsAlone) {
  const TagVocabulary v = test_vocabulary(kVocab);
  const auto policy = std::make_shared<const Policy>(shipped_policy("ai_mode", v));
  // Sequences quote, unquote and stop on </AI> at different times.
  LlamaModel m = random_model(kVocab, 96, 4);
  // Join orders: all at once; one by one; newcomers longer than the running
  // rows (their padding grows), shorter, and several joining at one step.
  // Different lengths make rows leave (and the padding shrink) at different steps.
  const std::vector<std::vector<Joiner>> orders = {
      {{ai_context(3, 1), 0, 11, 12}, {ai_context(9, 2), 0, 12}, {ai_context(1, 3), 0, 13, 20}},
      {{ai_context(2, 4), 0, 21, 8}, {ai_context(20, 5), 3, 22}, {ai_context(5, 6), 4, 23, 25},
       {ai_context(30, 7), 9, 24, 14}},
      {{ai_context(25, 8), 0, 31, 9}, {ai_context(1, 9), 2, 32}, {ai_context(12, 10), 2, 33, 17},
       {ai_context(40, 11), 6, 34, 22}, {ai_context(4, 12), 15, 35}},
  };
  for (const bool greedy : {true, false}) {
    const GenerateOptions o = sampling(greedy, 30);
    for (size_t k = 0; k < orders.size(); ++k) {
      std::vector<size_t> batch_sizes;
      const std::vector<Generation> got = run_engine(m, policy, orders[k], o, &batch_sizes);
      std::set<size_t> lengths;
      for (size_t i = 0; i < orders[k].size(); ++i) {
        const Generation ref =
            decode_uncached(m, *policy, orders[k][i].context, options_of(orders[k][i], o), orders[k][i].seed);
        expect_same(got[i], ref, std::string(greedy ? "greedy" : "sampled") + " order " + std::to_string(k) +
                                     " sequence " + std::to_string(i));
        lengths.insert(ref.tokens.size());
      }
      // Not vacuous: the batches really overlapped, and rows left at different times.
      EXPECT_GE(*std::max_element(batch_sizes.begin(), batch_sizes.end()), 3u);
      EXPECT_GE(lengths.size(), 3u) << "order " << k;
    }
  }
}

TEST(BatchEngine, ACancelledSequenceLeavesAndFreesItsRow) {
  const TagVocabulary v = test_vocabulary(kVocab);
  const auto policy = endless(v);
  LlamaModel m = random_model(kVocab, 96, 5);
  const GenerateOptions o = sampling(false, 40);
  BatchEngine engine(m, text_of);
  int seen = 0;
  const std::vector<int> a{1, 20, 21, 22}, b{1, 30, 31, 32, 33, 34, 35};
  const SequenceId quitter = engine.add({a, 0, policy, o, 7, [&](const TokenRecord&) { return ++seen < 3; }, nullptr});
  const SequenceId stayer = engine.add({b, 0, policy, o, 8, nullptr, nullptr});
  std::map<SequenceId, Generation> out;
  std::vector<size_t> running;
  while (engine.active() > 0) {
    for (FinishedSequence& f : engine.step()) out[f.id] = std::move(f.generation);
    running.push_back(engine.running());
  }
  EXPECT_EQ(out[quitter].finish_reason, "cancelled");
  EXPECT_EQ(out[quitter].tokens.size(), 3u);  // the token the callback refused is kept
  EXPECT_EQ(running[2], 1u);                  // its row left at the step it was cancelled
  expect_same(out[stayer], decode_uncached(m, *policy, b, o, 8), "the other sequence");
  EXPECT_EQ(out[stayer].tokens.size(), 40u);
}

// Left padding aligns rows at their last position: a short sequence batched
// with a long one sits behind padding, so the cache spans more positions than
// the short one's own. Each row must still decode to its own limit.
TEST(BatchEngine, RowsDecodeToTheirOwnLimitWhateverTheBatchSpans) {
  const TagVocabulary v = test_vocabulary(kVocab);
  const auto policy = endless(v);
  LlamaModel m = random_model(kVocab, 48, 6);
  std::vector<int> longest{1}, shorter{1, 25};
  for (int j = 0; j < 39; ++j) longest.push_back(20 + (j * 5) % 40);  // 40 tokens: room for 9 more
  for (const bool greedy : {true, false}) {
    const GenerateOptions o = sampling(greedy, 1000);
    // Together from the start; the long one joining a short one that ran 20
    // steps; the short one joining the long one.
    for (const auto& joiners : std::vector<std::vector<Joiner>>{{{longest, 0, 1}, {shorter, 0, 2}},
                                                                {{shorter, 0, 2}, {longest, 20, 1}},
                                                                {{longest, 0, 1}, {shorter, 5, 2}, {shorter, 30, 3}}}) {
      const std::vector<Generation> got = run_engine(m, policy, joiners, o);
      for (size_t i = 0; i < joiners.size(); ++i) {
        const Generation ref = decode_uncached(m, *policy, joiners[i].context, o, joiners[i].seed);
        // The context's own room: 48 positions, the last chosen token is not fed.
        EXPECT_EQ(ref.tokens.size(), 48 - joiners[i].context.size() + 1);
        expect_same(got[i], ref, "sequence " + std::to_string(i));
      }
    }
  }
}

TEST(BatchEngine, AFailingSequenceEndsAloneAndBadInputIsRefusedAtAdd) {
  const TagVocabulary v = test_vocabulary(kVocab);
  const auto policy = endless(v);
  LlamaModel m = random_model(kVocab, 32, 7);
  const GenerateOptions o = sampling(true, 10);
  BatchEngine engine(m, text_of);
  EXPECT_THROW(engine.add({{}, 0, policy, o, 1, nullptr, nullptr}), Error);                      // empty
  EXPECT_THROW(engine.add({std::vector<int>(33, 20), 0, policy, o, 1, nullptr, nullptr}), Error);  // too long
  EXPECT_THROW(engine.add({{1, kVocab}, 0, policy, o, 1, nullptr, nullptr}), Error);              // not an id
  const auto other = endless(test_vocabulary(kVocab + 1));
  EXPECT_THROW(engine.add({{1, 20}, 0, other, o, 1, nullptr, nullptr}), Error);
  EXPECT_EQ(engine.active(), 0u);
  int calls = 0;
  const SequenceId bad = engine.add({{1, 20, 21}, 0, policy, o, 1,
                                     [&](const TokenRecord&) -> bool {
                                       if (++calls == 4) throw std::runtime_error("callback broke");
                                       return true;
                                     },
                                     nullptr});
  const SequenceId good = engine.add({{1, 22}, 0, policy, o, 2, nullptr, nullptr});
  GenerateOptions none = o;
  none.max_new_tokens = 0;
  const SequenceId empty = engine.add({{1, 23}, 0, policy, none, 3, nullptr, nullptr});
  std::map<SequenceId, FinishedSequence> out;
  while (engine.active() > 0)
    for (FinishedSequence& f : engine.step()) out[f.id] = std::move(f);
  ASSERT_TRUE(out[bad].error);
  EXPECT_THROW(std::rethrow_exception(out[bad].error), std::runtime_error);
  EXPECT_EQ(out[bad].generation.tokens.size(), 4u);
  EXPECT_FALSE(out[good].error);
  expect_same(out[good].generation, decode_uncached(m, *policy, {1, 22}, o, 2), "the other sequence");
  EXPECT_FALSE(out[empty].error);
  EXPECT_TRUE(out[empty].generation.tokens.empty());
  EXPECT_EQ(out[empty].generation.finish_reason, "length");
}

}  // namespace
}  // namespace prealign
