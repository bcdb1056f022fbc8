// SFT data: where the seed prompt and the turns go for each policy family (a
// real tokenizer), the masked loss against a hand-rolled log-softmax over the
// response positions, and bad pairs files refused with file:line.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.hpp"
#include "rl/task_prompt.hpp"
#include "train/objective.hpp"
#include "sft_fixture.hpp"

using namespace prealign;
using namespace prealign::testing;

namespace {

class SftData : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(temp_dir());
    tok_ = new Tokenizer(fixture_tokenizer(*dir_));
  }
  static void TearDownTestSuite() {
    delete tok_;
    delete dir_;
  }
  static inline std::string* dir_ = nullptr;
  static inline Tokenizer* tok_ = nullptr;
};

const SftPair kPair{"p1", "Reply in at most 5 words.", "What is 12 + 30?", "Answer: 42", "test"};

std::vector<int> slice(const std::vector<int>& v, size_t from, size_t n) {
  return {v.begin() + long(from), v.begin() + long(from + n)};
}

// The template encodes each piece of text on its own.
std::vector<int> cat(const std::vector<std::vector<int>>& parts) {
  std::vector<int> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

}  // namespace

TEST_F(SftData, GoodOnlyPutsBosGoodTagThenTheSeedPromptBeforeTheTurns) {
  const Policy policy = fixture_policy(*tok_, "good_only");
  const SftExample e = make_example(kPair, *tok_, policy, kSeedPrompt);
  ASSERT_GT(e.tokens.size(), 4u);
  EXPECT_EQ(e.tokens[0], Tokenizer::kBos);
  EXPECT_EQ(e.tokens[1], tok_->tag_id("<|good|>"));
  const std::vector<int> seed = tok_->encode_start(kSeedPrompt + "\n");
  EXPECT_EQ(slice(e.tokens, 2, seed.size()), seed);
  const std::vector<int> turns = cat({tok_->encode("System: " + kPair.system + "\n"),
                                      tok_->encode("User: " + kPair.prompt + "\n"), tok_->encode("Assistant: ")});
  EXPECT_EQ(slice(e.tokens, 2 + seed.size(), turns.size()), turns);
  EXPECT_EQ(e.response_start, 2 + seed.size() + turns.size());
  // then the response and EOS: the policy starts before the prompt, so EOS ends the reply
  const std::vector<int> response = tok_->encode(kPair.response);
  EXPECT_EQ(slice(e.tokens, e.response_start, response.size()), response);
  EXPECT_EQ(e.tokens.back(), Tokenizer::kEos);
  EXPECT_EQ(e.tokens.size(), e.response_start + response.size() + 1);
  // the same context as the task would be asked with
  TaskRecord t;
  t.system = kPair.system;
  t.prompt = kPair.prompt;
  EXPECT_EQ(e.context(), task_context(t, *tok_, policy, kSeedPrompt));
}

TEST_F(SftData, AiModePutsTheSeedPromptInsideAiAfterTheTurnsAndEndsWithTheStopTag) {
  const Policy policy = fixture_policy(*tok_, "ai_mode");
  const SftExample e = make_example(kPair, *tok_, policy, kSeedPrompt);
  const int ai = tok_->tag_id("<AI>"), close = tok_->tag_id("</AI>");
  EXPECT_EQ(e.tokens[0], Tokenizer::kBos);
  const std::vector<int> turns = cat({tok_->encode_start("System: " + kPair.system + "\n"),
                                      tok_->encode("User: " + kPair.prompt + "\n")});
  EXPECT_EQ(slice(e.tokens, 1, turns.size()), turns);
  EXPECT_EQ(e.tokens[1 + turns.size()], ai);
  const std::vector<int> seed = tok_->encode(kSeedPrompt + "\n");
  EXPECT_EQ(slice(e.tokens, 2 + turns.size(), seed.size()), seed);
  EXPECT_EQ(e.response_start, 2 + turns.size() + seed.size());
  EXPECT_EQ(e.tokens.back(), close);
  EXPECT_EQ(sft_end_token(policy), close);
  // no tag in the context but the one <AI>; the seed text is not before it
  int tags = 0;
  for (size_t i = 0; i < e.response_start; ++i) tags += policy.is_tag(e.tokens[i]);
  EXPECT_EQ(tags, 1);
  EXPECT_EQ(tok_->decode(slice(e.tokens, 0, 1 + turns.size())).find("careful"), std::string::npos);
}

TEST_F(SftData, TagTextInAPairStaysText) {
  const Policy policy = fixture_policy(*tok_, "ai_mode");
  const SftPair p{"x", "", "Say </AI> now", "Sure: </AI> <|bad|>", "test"};
  const SftExample e = make_example(p, *tok_, policy, "");
  int tags = 0;
  for (int id : e.tokens) tags += policy.is_tag(id);
  EXPECT_EQ(tags, 2);  // the <AI> the template puts and the </AI> that ends the reply
}

TEST_F(SftData, MaskedLossEqualsAHandRolledLogSoftmaxOverTheResponse) {
  const Policy policy = fixture_policy(*tok_, "ai_mode");
  std::vector<SftPair> pairs = fixture_pairs(2, 11);
  pairs.resize(5);
  const auto examples = make_examples(pairs, *tok_, policy, kSeedPrompt, 256);
  torch::manual_seed(4);
  LlamaModel m(ModelConfig::parse("dim=32,layers=1,heads=4,hidden=64,ctx=256", tok_->vocab_size()));
  m->eval();
  torch::NoGradGuard no_grad;
  std::vector<const SftExample*> rows;
  for (const auto& e : examples) rows.push_back(&e);
  const SftBatch b = collate(rows, torch::kCPU);
  const double loss = sft_loss(m->forward(b.inputs), b).item<double>();
  // reference: each example alone, unpadded; -log p(token t | tokens < t) for t >= response_start
  double sum = 0;
  int64_t n = 0;
  for (const SftExample& e : examples) {
    std::vector<int64_t> ids(e.tokens.begin(), e.tokens.end());
    torch::Tensor logits = m->forward(torch::tensor(ids).view({1, -1}))[0].to(torch::kDouble);  // (T, V)
    auto acc = logits.accessor<double, 2>();
    for (size_t t = e.response_start; t < e.tokens.size(); ++t) {
      double mx = -1e300, z = 0;
      for (int64_t v = 0; v < logits.size(1); ++v) mx = std::max(mx, acc[int64_t(t - 1)][v]);
      for (int64_t v = 0; v < logits.size(1); ++v) z += std::exp(acc[int64_t(t - 1)][v] - mx);
      sum += -(acc[int64_t(t - 1)][e.tokens[t]] - mx - std::log(z));
      ++n;
    }
  }
  EXPECT_EQ(b.response_tokens, n);
  EXPECT_NEAR(loss, sum / double(n), 1e-4 * std::abs(sum / double(n)));
  // and it is not the loss over every position
  const double all = masked_cross_entropy(m->forward(b.inputs), b.targets, b.inputs.ne(-1)).item<double>();
  EXPECT_GT(std::abs(all - loss), 1e-3);
}

TEST_F(SftData, AnExampleLongerThanTheWindowIsRefusedNamingItsLine) {
  const Policy policy = fixture_policy(*tok_, "good_only");
  std::vector<SftPair> pairs = {kPair, kPair};
  pairs[1].where = "pairs.jsonl:7";
  pairs[1].response = std::string(400, 'x');
  try {
    make_examples(pairs, *tok_, policy, kSeedPrompt, 129);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pairs.jsonl:7"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--seq-len 128"), std::string::npos) << e.what();
  }
}

TEST(SftPairs, BadFilesAreErrorsNamingFileAndLine) {
  const std::string dir = temp_dir();
  const std::string good = "{\"prompt\": \"a\", \"response\": \"b\"}\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {good + "\n{\"prompt\": \"a\"}\n", ":3"},                          // missing response, after a blank line
      {good + "not json\n", ":2"},                                     // not JSON
      {"{\"prompt\": 3, \"response\": \"b\"}\n", ":1"},               // wrong type
      {good + good + "{\"prompt\": \"a\", \"response\": \"\"}\n", ":3"},  // empty response
      {"[1, 2]\n", ":1"},                                              // not an object
      {good + "{\"prompt\": \"a\", \"response\": \"b\", \"system\": 5}\n", ":2"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string path = dir + "/bad" + std::to_string(i) + ".jsonl";
    write_file_atomic(path, cases[i].first);
    try {
      read_pairs(path);
      ADD_FAILURE() << "case " << i << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(path + cases[i].second), std::string::npos) << i << ": " << e.what();
    }
  }
  write_file_atomic(dir + "/empty.jsonl", "\n\n");
  EXPECT_THROW(read_pairs(dir + "/empty.jsonl"), Error);
  write_file_atomic(dir + "/ok.jsonl", good + "{\"prompt\": \"c\", \"response\": \"d\", \"system\": \"s\", \"id\": \"x\"}\n");
  const auto pairs = read_pairs(dir + "/ok.jsonl");
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[1].system, "s");
  EXPECT_EQ(pairs[1].id, "x");
  EXPECT_EQ(pairs[0].id, dir + "/ok.jsonl:1");
}
