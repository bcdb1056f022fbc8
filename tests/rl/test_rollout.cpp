// The rollout and reward steps (rl/rollout.hpp): samples decoded under the
// checkpoint's tag policy never hold a banned tag, even from a model that
// wants them; the task choice is seeded; rewards are the verifier's.
#include <gtest/gtest.h>

#include <set>

#include "core/error.hpp"
#include "rl/rollout.hpp"
#include "rl_fixture.hpp"

using namespace prealign;
using namespace prealign::testing;

namespace {

struct Loaded {
  LoadedCheckpoint ck;
  Tokenizer tok;
};

Loaded load_tempted(const std::string& dir) {
  const std::string path = make_rl_checkpoint(dir, "ai_mode", 4.0f);
  return {load_checkpoint(path, torch::kCPU), Tokenizer::load_dir(path)};
}

// Every token allowed in the state it was sampled in; returns how many were tags.
int check_no_banned(const Policy& policy, const std::vector<Sample>& samples) {
  int tags = 0;
  for (const Sample& s : samples) {
    EXPECT_EQ(s.tokens.size(), s.states.size());
    int state = policy.state_after_start();
    for (size_t j = 0; j < s.tokens.size(); ++j) {
      EXPECT_EQ(s.states[j], state) << "the recorded state follows the policy";
      EXPECT_FALSE(policy.is_banned(s.states[j], s.tokens[j]))
          << "banned token " << s.tokens[j] << " in state " << policy.state(s.states[j]).name;
      tags += policy.is_tag(s.tokens[j]);
      state = policy.next_state(state, s.tokens[j]);
    }
  }
  return tags;
}

}  // namespace

TEST(Rollout, NeverSamplesABannedTagUnderAiModeOrGoodOnly) {
  Loaded m = load_tempted(temp_dir());
  const TagVocabulary vocab = TagVocabulary::of(m.tok);
  const std::vector<TaskRecord> tasks = number_tasks(6, 3);
  RolloutOptions o;
  o.prompts_per_step = 3;
  o.group = 6;
  o.generate.max_new_tokens = 24;
  for (const std::string name : {"ai_mode", "good_only"}) {
    const Policy policy = Policy::load(find_shipped_file("configs/policies/" + name + ".json"), vocab);
    double max_temptation = 0;
    int total_tokens = 0;
    int tags = 0;
    for (int64_t step = 0; step < 3; ++step) {
      const std::vector<size_t> picked = pick_tasks(tasks.size(), 3, 7, step);
      const std::vector<Sample> samples = rollout(m.ck.model, m.tok, policy, tasks, picked, "", o, 7, step);
      ASSERT_EQ(samples.size(), 18u);
      for (size_t k = 0; k < samples.size(); ++k) {
        EXPECT_EQ(samples[k].task, picked[k / 6]) << "groups are consecutive";
        EXPECT_EQ(samples[k].temptation.size(), samples[k].tokens.size());
        for (float t : samples[k].temptation) max_temptation = std::max(max_temptation, double(t));
        total_tokens += int(samples[k].tokens.size());
      }
      tags += check_no_banned(policy, samples);
    }
    // The model does want tags: the banned ones carry real raw mass, the allowed ones get sampled.
    EXPECT_GT(max_temptation, 0.1) << name;
    EXPECT_GT(total_tokens, 50) << name;
    if (name == std::string("ai_mode")) EXPECT_GT(tags, 0) << "allowed tags (</AI>, <AI_quoting_human>) are sampled";
  }
}

TEST(Rollout, SameSeedAndStepSameSamples) {
  Loaded m = load_tempted(temp_dir());
  const Policy policy = Policy::from_json(m.ck.policy, TagVocabulary::of(m.tok), "policy.json");
  const std::vector<TaskRecord> tasks = number_tasks(4, 3);
  RolloutOptions o;
  o.prompts_per_step = 2;
  o.group = 3;
  o.generate.max_new_tokens = 10;
  const auto a = rollout(m.ck.model, m.tok, policy, tasks, {0, 1}, "Be helpful.", o, 1, 5);
  const auto b = rollout(m.ck.model, m.tok, policy, tasks, {0, 1}, "Be helpful.", o, 1, 5);
  const auto c = rollout(m.ck.model, m.tok, policy, tasks, {0, 1}, "Be helpful.", o, 1, 6);
  bool differs = false;
  for (size_t k = 0; k < a.size(); ++k) {
    EXPECT_EQ(a[k].tokens, b[k].tokens);
    differs = differs || a[k].tokens != c[k].tokens;
  }
  EXPECT_TRUE(differs) << "another step samples other completions";
  // Samples of one group differ from each other (per-sample seeds).
  EXPECT_TRUE(a[0].tokens != a[1].tokens || a[1].tokens != a[2].tokens);
}

TEST(Rollout, PickTasksIsSeededAndDistinct) {
  std::set<std::vector<size_t>> seen;
  for (int64_t step = 0; step < 20; ++step) {
    const std::vector<size_t> p = pick_tasks(10, 4, 3, step);
    EXPECT_EQ(p, pick_tasks(10, 4, 3, step));
    ASSERT_EQ(p.size(), 4u);
    EXPECT_EQ(std::set<size_t>(p.begin(), p.end()).size(), 4u);
    for (size_t i : p) EXPECT_LT(i, 10u);
    seen.insert(p);
  }
  EXPECT_GT(seen.size(), 15u);
  // Every task can be picked: all of them over enough steps.
  std::set<size_t> any;
  for (int64_t step = 0; step < 50; ++step)
    for (size_t i : pick_tasks(10, 2, 9, step)) any.insert(i);
  EXPECT_EQ(any.size(), 10u);
  EXPECT_EQ(pick_tasks(3, 3, 1, 0).size(), 3u);
  EXPECT_THROW(pick_tasks(3, 4, 1, 0), Error);
}

TEST(Rollout, RewardsAreTheVerifiersVerdicts) {
  std::vector<TaskRecord> tasks = number_tasks(2, 3);
  std::vector<Sample> samples(4);
  samples[0].text = "it is 3";            // right, no Answer: line
  samples[1].text = "Answer: 3";          // right, formatted
  samples[2].text = "Answer: 4";          // wrong
  samples[3].text = "";                   // nothing
  for (size_t i = 0; i < samples.size(); ++i) samples[i].task = i % 2;
  VerifierOptions vo;
  vo.format_weight = 0.25;
  reward_samples(samples, tasks, Verifier(vo), 2);
  EXPECT_DOUBLE_EQ(samples[0].reward, 0.75);
  EXPECT_TRUE(samples[0].correct);
  EXPECT_FALSE(samples[0].format_ok);
  EXPECT_DOUBLE_EQ(samples[1].reward, 1.0);
  EXPECT_TRUE(samples[1].format_ok);
  EXPECT_DOUBLE_EQ(samples[2].reward, 0.0);
  EXPECT_DOUBLE_EQ(samples[3].reward, 0.0);
}
