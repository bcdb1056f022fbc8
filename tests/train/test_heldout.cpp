// The held-out loss against a hand computation: on a fixed random model and the
// conditional objective's batches (tags before segments), the mean of
// -log softmax(logits)[target] in double precision over the targets that are
// not tag ids (told by the tokenizer, not by the batch's is_tag mask), and the
// tag targets' mean separately. A loss that averaged the tags in would differ.
#include <gtest/gtest.h>

#include <cmath>

#include "dataset_fixture.hpp"
#include "train/heldout.hpp"
#include "train/objective.hpp"

namespace prealign {
namespace {

TEST(HeldoutLoss, IsTheMeanCrossEntropyOfTextTargetsComputedByHand) {
  const std::string dir = testing::temp_dir();
  const std::string data_dir = testing::make_scored_dataset(dir, 200);
  Dataset data = Dataset::open(data_dir);
  Tokenizer tok = Tokenizer::load_dir(data_dir);
  ObjectiveOptions oo;
  oo.name = "conditional";
  oo.drop_fraction = 0;  // every segment tagged
  auto objective = make_objective(oo, data, tok, torch::kCPU, 32);
  DocumentPlanner planner = [&](const DocumentView& d, DocumentPlan& p) { objective->plan(d, p); };
  torch::manual_seed(11);
  LlamaModel model(ModelConfig::parse("dim=32,layers=2,heads=2,ctx=32", tok.vocab_size()));
  const int B = 4, T = 32, rounds = 3;
  const HeldoutLoss got = heldout_loss(model, data, planner, B, T, rounds);

  torch::NoGradGuard no_grad;
  model->eval();
  BatchStream stream(data.val, planner, B, T, /*seed=*/0, /*shuffle=*/false);
  Batch batch;
  double text_sum = 0, tag_sum = 0;
  uint64_t text_n = 0, tag_n = 0;
  for (int round = 0; round < rounds; ++round) {
    stream.next_slice(batch, 0, 1);
    torch::Tensor inputs = torch::tensor(batch.inputs, torch::kInt64).view({B, T});
    torch::Tensor logp = torch::log_softmax(model->forward(inputs).to(torch::kDouble), -1);
    auto lp = logp.accessor<double, 3>();
    for (int b = 0; b < B; ++b)
      for (int t = 0; t < T; ++t) {
        const int64_t target = batch.targets[b * T + t];
        if (target < 0) continue;  // padding
        const double ce = -lp[b][t][target];
        if (tok.is_tag(static_cast<int>(target))) tag_sum += ce, ++tag_n;
        else text_sum += ce, ++text_n;
      }
  }
  ASSERT_GT(tag_n, 0u) << "the conditional plan should put tags in the held-out batches";
  EXPECT_EQ(got.tokens, text_n);
  EXPECT_EQ(got.tag_tokens, tag_n);
  EXPECT_NEAR(got.loss, text_sum / double(text_n), 1e-5);
  EXPECT_NEAR(got.tag_loss, tag_sum / double(tag_n), 1e-5);
  EXPECT_NEAR(got.perplexity, std::exp(text_sum / double(text_n)), 1e-3);
  // The figure must be distinguishable from one that averaged the tags in.
  EXPECT_GT(std::abs((text_sum + tag_sum) / double(text_n + tag_n) - text_sum / double(text_n)), 1e-4);
}

}  // namespace
}  // namespace prealign
