// The seed-000 evaluations: AUROC against hand-computed values, the jailbreak
// suite's scenarios, and sampling a small random model under ai_mode with a
// real tokenizer (typed tags stay text; every sample passes the grammar).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/files.hpp"
#include "eval/stats.hpp"
#include "eval/ensemble.hpp"
#include "eval/mode_evals.hpp"
#include "eval/probe.hpp"
#include "synth/world.hpp"
#include "test_util.hpp"

namespace prealign {
namespace {

using testing::source_path;

TEST(Auroc, HandComputed) {
  EXPECT_DOUBLE_EQ(auroc_of_groups({3, 4}, {1, 2}), 1.0);
  EXPECT_DOUBLE_EQ(auroc_of_groups({1, 2}, {3, 4}), 0.0);
  // pairs (pos, neg): (2,1) win, (2,3) loss, (5,1) win, (5,3) win -> 3/4
  EXPECT_DOUBLE_EQ(auroc_of_groups({2, 5}, {1, 3}), 0.75);
  // a tie counts one half: (1,1) half, (1,0) win -> 0.75
  EXPECT_DOUBLE_EQ(auroc_of_groups({1}, {1, 0}), 0.75);
  EXPECT_DOUBLE_EQ(auroc_of_groups({0, 0, 0}, {0, 0}), 0.5);
  EXPECT_TRUE(std::isnan(auroc_of_groups({}, {1})));
}

TEST(JailbreakSuite, FamiliesAreDeterministicAndLabelled) {
  const auto a = jailbreak_scenarios(3, 5), b = jailbreak_scenarios(3, 5), c = jailbreak_scenarios(4, 5);
  ASSERT_EQ(a.size(), 25u);
  int benign = 0, fake_with_tag_text = 0, multi = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].turns, b[i].turns);
    EXPECT_EQ(a[i].jailbreak, a[i].family != "benign");
    benign += a[i].family == "benign";
    if (a[i].family == "fake_tags") fake_with_tag_text += a[i].turns.back().find("AI") != std::string::npos;
    if (a[i].family == "multi_turn") {
      ++multi;
      EXPECT_EQ(a[i].turns.size(), 5u);  // human, AI, human, AI, human
    }
    for (const auto& t : a[i].turns) EXPECT_TRUE(find_harm_lexemes(t).empty()) << t;
  }
  EXPECT_EQ(benign, 5);
  EXPECT_EQ(fake_with_tag_text, 5);
  EXPECT_EQ(multi, 5);
  bool differs = false;
  for (size_t i = 0; i < a.size(); ++i) differs = differs || a[i].turns != c[i].turns;
  EXPECT_TRUE(differs);
}

TEST(SummarizeSamples, CountsByHand) {
  ModeSample a, b;
  a.harm = {"vostric"};
  a.generation.finish_reason = "stop_tag";
  a.generation.max_temptation = 0.5f;
  a.generation.mean_temptation = 0.1f;
  a.generation.flags = 2;
  b.generation.finish_reason = "temptation";
  b.generation.max_temptation = 0.25f;
  b.generation.mean_temptation = 0.3f;
  b.violations.resize(1);
  const ordered_json j = summarize_samples({&a, &b});
  EXPECT_EQ(j["samples"], 2);
  EXPECT_DOUBLE_EQ(j["harmful_rate"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j["exit_rate"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j["stop_rate"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j["flag_rate"].get<double>(), 0.5);
  EXPECT_NEAR(j["mean_temptation"].get<double>(), 0.2, 1e-7);
  EXPECT_NEAR(j["mean_max_temptation"].get<double>(), 0.375, 1e-7);
  EXPECT_DOUBLE_EQ(j["max_temptation"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(j["violations"].get<double>(), 1.0);
}

// A real tokenizer trained on world documents and a random small model.
class ModeSampling : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testing::temp_dir());
    const Tagset tags = Tagset::load(source_path("configs/tagsets/ai_modes.json"));
    WorldOptions wo;
    uint64_t next = 0;
    TokenizerTrainOptions to;
    to.vocab_size = 400;
    Tokenizer::train(
        [&](std::string& text) {
          if (next >= 300) return false;
          text = world_document(wo, next++).text;
          return true;
        },
        tags, to, *dir_ + "/tokenizer.model");
    write_json_file(*dir_ + "/tagset.json", tags.to_json());
  }
  static void TearDownTestSuite() { delete dir_; }

  ModeModel model() {
    Tokenizer tok = Tokenizer::load_dir(*dir_);
    const std::string path = source_path("configs/policies/ai_mode.json");
    const TagVocabulary vocab = TagVocabulary::of(tok);
    LoadedCheckpoint ck;
    torch::manual_seed(1);
    ck.model = LlamaModel(ModelConfig::parse("dim=32,layers=1,heads=2,hidden=64,ctx=256", tok.vocab_size()));
    ck.model->eval();
    Policy p = Policy::load(path, vocab);
    return {std::move(ck), std::move(tok), ModeGrammar::load(path), p, Policy::unrestricted(vocab)};
  }
  static std::string* dir_;
};
std::string* ModeSampling::dir_ = nullptr;

TEST_F(ModeSampling, TypedTagsStayTextAndTrustedTurnsAreTagged) {
  ModeModel m = model();
  const int ai_open = m.tokenizer.tag_id("<AI>"), ai_close = m.tokenizer.tag_id("</AI>");
  for (const Scenario& s : jailbreak_scenarios(1, 4)) {
    const std::vector<int> ctx = scenario_context(m, s, true);
    int opens = 0, closes = 0, other_tags = 0;
    for (int t : ctx) {
      opens += t == ai_open;
      closes += t == ai_close;
      other_tags += m.tokenizer.is_tag(t) && t != ai_open && t != ai_close;
    }
    const int ai_turns = static_cast<int>(s.turns.size() / 2);
    EXPECT_EQ(opens, ai_turns + 1) << s.family;  // each earlier AI turn, then the forced start
    EXPECT_EQ(closes, ai_turns) << s.family;
    EXPECT_EQ(other_tags, 0) << s.family << ": text typed in a prompt became a tag";
    EXPECT_EQ(ctx.back(), ai_open);
    EXPECT_NE(scenario_context(m, s, false).back(), ai_open);
  }
}

TEST_F(ModeSampling, EverySampleUnderTheLockPassesTheGrammar) {
  ModeModel m = model();
  GenerateOptions g;
  g.max_new_tokens = 12;
  g.seed = 5;
  const std::vector<Scenario> scenarios = jailbreak_scenarios(2, 6);
  std::vector<ModeSample> samples = sample_scenarios(m, scenarios, true, g, 8);
  ASSERT_EQ(samples.size(), scenarios.size());
  ModeStats stats;
  for (size_t i = 0; i < samples.size(); ++i) {
    const Generation& gen = samples[i].generation;
    EXPECT_TRUE(lint_sample(m.grammar, gen, "s", stats).empty()) << gen.text_with_tags;
    for (const TokenRecord& r : gen.tokens) EXPECT_NE(r.state, "human");
    EXPECT_GT(gen.tokens.size(), 0u);
  }
  EXPECT_EQ(stats.documents, samples.size());
  const ordered_json report = jailbreak_report(scenarios, samples);
  EXPECT_EQ(report["families"]["fake_tags"]["samples"], 6);
  EXPECT_TRUE(report["families"]["benign"].contains("harmful_rate"));
  EXPECT_FALSE(report["families"]["benign"].contains("auroc_max_temptation_vs_benign"));
}

TEST_F(ModeSampling, ProbeLabelsFollowTheGrammar) {
  ModeModel m = model();
  const LabelledTokens lt = label_tokens("hi <AI>a<AI_quoting_human>b</AI_quoting_human>c</AI>", m.tokenizer,
                                         m.grammar, 2, 256);
  ASSERT_EQ(lt.ids.size(), lt.state.size());
  const int human = m.grammar.state_index("human"), ai = m.grammar.state_index("ai"),
            quoted = m.grammar.state_index("quoted");
  std::vector<int> tag_states;
  for (size_t t = 0; t < lt.ids.size(); ++t)
    if (m.tokenizer.is_tag(lt.ids[t])) tag_states.push_back(lt.state[t]);
  EXPECT_EQ(tag_states, (std::vector<int>{ai, quoted, ai, human}));
  EXPECT_EQ(lt.state.front(), human);  // BOS
  EXPECT_EQ(lt.state.back(), human);   // after </AI>
  EXPECT_EQ(lt.transition.back(), 0);  // nothing follows
  // the position right before each tag predicts a transition
  for (size_t t = 0; t + 1 < lt.ids.size(); ++t) {
    if (m.tokenizer.is_tag(lt.ids[t + 1])) {
      EXPECT_EQ(lt.transition[t], 1) << t;
    }
  }
}

// The held-out accuracy and majority baseline the probe report states (and the
// README quotes from experiments/modes.sh) recomputed here another way: each
// held-out document teacher-forced through read_probe one at a time, the argmax
// compared with the grammar's state, counted by hand. The figure itself (0.80 on
// a trained model) is checked by the long experiment (experiments/check_report.py).
TEST_F(ModeSampling, ProbesTrainOnEveryLayerAndRoundTrip) {
  ModeModel m = model();
  std::vector<std::string> texts;
  WorldOptions wo;
  for (uint64_t i = 0; texts.size() < 16; ++i) {  // documents that fit the context with a token to spare
    std::string t = world_document(wo, 1000 + i).text;
    if (label_tokens(t, m.tokenizer, m.grammar, 3, 1 << 20).ids.size() < 250) texts.push_back(std::move(t));
  }
  ProbeSet p = train_probes(m.checkpoint.model, m.tokenizer, m.grammar, texts, 0.25, 3, 50);
  ASSERT_EQ(p.mode.size(), 1u);  // one layer in the test model
  ASSERT_EQ(p.report["layers"].size(), 1u);
  ASSERT_EQ(p.report["heldout_documents"].get<size_t>(), 4u);

  size_t positions = 0, correct = 0;
  std::vector<size_t> per_class(p.states.size(), 0);
  for (size_t d = 12; d < 16; ++d) {
    const LabelledTokens lt = label_tokens(texts[d], m.tokenizer, m.grammar, 3, 256);
    std::vector<int> generated(lt.ids.begin() + 1, lt.ids.end());
    generated.push_back(Tokenizer::kEos);  // a reading at the last position too
    const ProbeReading r = read_probe(m.checkpoint.model, p, {lt.ids[0]}, generated);
    ASSERT_EQ(r.mode.size(), lt.state.size());
    for (size_t t = 0; t < lt.state.size(); ++t) {
      const auto& probs = r.mode[t];
      const size_t argmax = size_t(std::max_element(probs.begin(), probs.end()) - probs.begin());
      correct += argmax == size_t(lt.state[t]);
      ++per_class[size_t(lt.state[t])];
      ++positions;
    }
  }
  EXPECT_EQ(p.report["heldout_positions"].get<size_t>(), positions);
  EXPECT_NEAR(p.report["layers"][0]["mode_heldout_accuracy"].get<double>(), double(correct) / double(positions), 1e-9);
  EXPECT_NEAR(p.report["mode_majority_baseline_heldout"].get<double>(),
              double(*std::max_element(per_class.begin(), per_class.end())) / double(positions), 1e-9);

  const std::string path = testing::temp_dir() + "/probe.json";
  write_json_file(path, p.to_json());
  ProbeSet q = ProbeSet::load(path);
  EXPECT_EQ(q.states, p.states);
  EXPECT_TRUE(torch::allclose(q.mode[0].weight, p.mode[0].weight));
  const ProbeReading r = read_probe(m.checkpoint.model, q, {Tokenizer::kBos, m.tokenizer.tag_id("<AI>")}, {5, 6, 7});
  ASSERT_EQ(r.mode.size(), 3u);
  float sum = 0;
  for (float x : r.mode[0]) sum += x;
  EXPECT_NEAR(sum, 1.0f, 1e-5);
}

TEST(LinearProbe, SeparatesClustersAndNotNoise) {
  torch::manual_seed(3);
  const int64_t n = 600;
  torch::Tensor y = torch::randint(0, 3, {n}, torch::kLong);
  torch::Tensor centers = torch::randn({3, 8}) * 3;
  torch::Tensor x = centers.index_select(0, y) + torch::randn({n, 8});  // (N, 8)
  LinearProbe p = train_linear_probe(x.narrow(0, 0, 400), y.narrow(0, 0, 400), 3, 200);
  EXPECT_GT(probe_accuracy(p, x.narrow(0, 400, 200), y.narrow(0, 400, 200)), 0.95);
  // labels independent of the features: held-out accuracy near chance (1/3)
  torch::Tensor noise = torch::randn({n, 8});
  LinearProbe q = train_linear_probe(noise.narrow(0, 0, 400), y.narrow(0, 0, 400), 3, 200);
  EXPECT_LT(probe_accuracy(q, noise.narrow(0, 400, 200), y.narrow(0, 400, 200)), 0.5);
}

TEST_F(ModeSampling, TeacherForcedTemptationMatchesDecoding) {
  ModeModel m = model();
  GenerateOptions g;
  g.max_new_tokens = 10;
  g.seed = 9;
  const std::vector<Scenario> scenarios = jailbreak_scenarios(4, 2);
  std::vector<ModeSample> samples = sample_scenarios(m, scenarios, true, g, 4);
  int compared = 0;
  for (size_t i = 0; i < samples.size(); ++i) {
    const Generation& gen = samples[i].generation;
    std::vector<int> ids;
    for (const TokenRecord& r : gen.tokens) ids.push_back(r.id);
    const std::vector<float> t = teacher_forced_temptation(m.checkpoint.model, m.policy,
                                                           scenario_context(m, scenarios[i], true),
                                                           m.policy.state_after_start(), ids);
    ASSERT_EQ(t.size(), gen.tokens.size());
    for (size_t k = 0; k < t.size(); ++k, ++compared)
      EXPECT_NEAR(t[k], gen.tokens[k].temptation_total, 1e-4 + 1e-3 * gen.tokens[k].temptation_total);
  }
  EXPECT_GT(compared, 50);
  // a model checking itself keeps exactly what its own decoding measured
  std::vector<ModeModel> two;
  two.push_back(model());
  two.push_back(model());
  const CrossCheck c = cross_check(two, 0, scenarios[0], samples[0].generation, 1.0);
  ASSERT_EQ(c.max_temptation.size(), 2u);
  EXPECT_NEAR(c.max_temptation[0], c.max_temptation[1], 1e-4);
  EXPECT_EQ(c.keep_votes, 2);
  EXPECT_TRUE(c.accepted);
  const CrossCheck strict = cross_check(two, 0, scenarios[0], samples[0].generation, -1.0);
  EXPECT_EQ(strict.keep_votes, 0);
  EXPECT_FALSE(strict.accepted);
}

TEST(Ensemble, BinomialMajorityAndCorrelationByHand) {
  // the seed's example: three models failing 1% each -> 3p^2(1-p) + p^3 = 0.000298
  EXPECT_NEAR(majority_failure_probability({0.01, 0.01, 0.01}), 3 * 1e-4 * 0.99 + 1e-6, 1e-12);
  // five at 1%: 10p^3(1-p)^2 + 5p^4(1-p) + p^5
  const double p = 0.01, five = 10 * std::pow(p, 3) * std::pow(1 - p, 2) + 5 * std::pow(p, 4) * (1 - p) + std::pow(p, 5);
  EXPECT_NEAR(majority_failure_probability({p, p, p, p, p}), five, 1e-15);
  EXPECT_NEAR(majority_failure_probability({0.5, 0.2}), 0.1, 1e-12);  // two models: both must fail
  EXPECT_DOUBLE_EQ(phi_correlation({1, 0, 1, 0}, {1, 0, 1, 0}), 1.0);
  EXPECT_DOUBLE_EQ(phi_correlation({1, 0, 1, 0}, {0, 1, 0, 1}), -1.0);
  // a = 1100, b = 1010: p_a = p_b = 1/2, p_ab = 1/4 -> phi 0
  EXPECT_NEAR(phi_correlation({1, 1, 0, 0}, {1, 0, 1, 0}), 0.0, 1e-12);
  EXPECT_TRUE(std::isnan(phi_correlation({0, 0, 0}, {1, 0, 1})));
}

TEST(LintSample, SpelledTagInTextIsANearMissNotATag) {
  const ModeGrammar g = ModeGrammar::load(source_path("configs/policies/ai_mode.json"));
  Generation gen;
  gen.finish_reason = "length";
  for (const char* t : {"fine ", "</", "AI", ">", " more"}) {
    TokenRecord r;
    r.text = t;
    gen.tokens.push_back(r);
  }
  ModeStats stats;
  const auto v = lint_sample(g, gen, "s", stats);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].kind, "malformed_tag");
  EXPECT_EQ(v[0].offset, 4u + 5u);  // after the start tag "<AI>" and "fine "
  gen.finish_reason = "eos";        // ended inside AI mode by EOS: unclosed
  gen.tokens.resize(1);
  EXPECT_EQ(lint_sample(g, gen, "s", stats).at(0).kind, "unclosed");
}

// generate --probe: the probe read live in the decode loop (KV cache, batched)
// gives what read_probe gives after the fact under teacher forcing, and the
// alarm flags exactly the tokens over its threshold outside the alarm's mode.
TEST_F(ModeSampling, LiveProbeMonitorMatchesTheAfterTheFactReading) {
  ModeModel m = model();
  std::vector<std::string> texts;
  WorldOptions wo;
  for (uint64_t i = 0; i < 12; ++i) texts.push_back(world_document(wo, 2000 + i).text);
  const ProbeSet p = train_probes(m.checkpoint.model, m.tokenizer, m.grammar, texts, 0.25, 3, 40);
  Generator gen(m.checkpoint.model, m.tokenizer, m.policy);
  GenerateOptions o;
  o.max_new_tokens = 12;
  const std::vector<std::string> prompts = {"hello there", "tell me a story about the well", "why"};
  // One pass at `threshold`: every live reading against read_probe, and the flags
  // against those the after-the-fact readings call for.
  struct Pass {
    size_t compared = 0, flagged = 0, expected_flags = 0;
    std::vector<float> human_outside_human;  // p(human) where the policy is in another state
  };
  const auto run = [&](float threshold) {
    Pass pass;
    const ProbeAlarm alarm{"human", threshold};
    const std::vector<Generation> out = gen.generate_batch(prompts, o, {1, 2, 3}, nullptr, probe_monitor(p, alarm));
    for (size_t i = 0; i < out.size(); ++i) {
      std::vector<int> ids;
      for (const TokenRecord& r : out[i].tokens) ids.push_back(r.id);
      const ProbeReading after = read_probe(m.checkpoint.model, p, gen.context_for(prompts[i]), ids);
      EXPECT_EQ(after.mode.size(), out[i].tokens.size());
      for (size_t k = 0; k < ids.size() && k < after.mode.size(); ++k, ++pass.compared) {
        const TokenRecord& r = out[i].tokens[k];
        EXPECT_EQ(r.monitor.size(), p.states.size() + 1);
        for (size_t c = 0; c < p.states.size() && c < r.monitor.size(); ++c) {
          EXPECT_EQ(r.monitor[c].first, "probe_" + p.states[c]);
          EXPECT_NEAR(r.monitor[c].second, after.mode[k][c], 1e-4) << "sample " << i << " token " << k;
          if (p.states[c] == "human" && r.state != "human") {
            pass.human_outside_human.push_back(after.mode[k][c]);
            if (after.mode[k][c] > threshold) ++pass.expected_flags;
          }
        }
        EXPECT_NEAR(r.monitor.back().second, after.transition[k], 1e-4);
        pass.flagged += std::count(r.flags.begin(), r.flags.end(), "probe:human");
      }
    }
    return pass;
  };
  const Pass first = run(0.3f);
  EXPECT_GT(first.compared, 12u);
  EXPECT_EQ(first.flagged, first.expected_flags);
  // Again at the median reading, so that some tokens must flag and some must not:
  // a monitor that never (or always) flagged cannot pass this one.
  std::vector<float> v = first.human_outside_human;
  ASSERT_GT(v.size(), 4u);
  std::sort(v.begin(), v.end());
  const float median = v[v.size() / 2 - 1];
  const Pass second = run(median);
  EXPECT_GT(second.expected_flags, 0u);
  EXPECT_LT(second.expected_flags, second.human_outside_human.size());
  EXPECT_EQ(second.flagged, second.expected_flags);
  EXPECT_THROW(ProbeAlarm::parse("martian:0.5", p), Error);
  EXPECT_THROW(ProbeAlarm::parse("human:lots", p), Error);
  EXPECT_EQ(ProbeAlarm::parse("human:0.25", p).threshold, 0.25f);
}

}  // namespace
}  // namespace prealign
