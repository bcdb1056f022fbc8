// The decode loop end to end without a tokenizer: a tiny random model whose
// tag logits are made tempting on purpose, hand-built vocabularies and the
// shipped policies. Checks bans, temptation against a full (uncached) forward
// pass, seeded determinism, every finish reason, and the JSON record.
#include <chrono>
#include <cstdio>
#include <set>

#include "core/error.hpp"
#include "decode/generator.hpp"
#include "decode/temptation.hpp"
#include "decode_fixture.hpp"

namespace prealign {
namespace {

using namespace prealign::testing;

constexpr int kVocab = 96;
const TagVocabulary& vocab() {
  static const TagVocabulary v = test_vocabulary(kVocab);
  return v;
}

std::string text_of(int id) { return "t" + std::to_string(id) + " "; }

std::map<int, float> tempting_tags(float b) {
  std::map<int, float> out;
  for (const auto& [name, id] : vocab().tags) out[id] = b;
  return out;
}

// The context a prompt of three text tokens gets under each shipped policy.
std::vector<int> context_for(const std::string& policy) {
  if (policy == "ai_mode") return {1, 20, 21, 22, kAiOpen};  // BOS, prompt, <AI>
  return {1, kGood, 20, 21, 22};                             // BOS, <|good|>, prompt
}

Generation run(LlamaModel& m, const Policy& p, const std::string& name, const GenerateOptions& o) {
  return decode_context(m, p, context_for(name), p.state_after_start(), o, text_of);
}

// Tags each state allows, written down from the JSON files by hand.
std::set<int> allowed(const std::string& policy, const std::string& state) {
  static const std::map<std::string, std::set<int>> table = {{"ai_mode/human", {kAiOpen}},
                                                             {"ai_mode/ai", {kQuoteOpen, kAiClose}},
                                                             {"ai_mode/quoted", {kQuoteClose}},
                                                             {"good_only/good", {kGood}}};
  return table.at(policy + "/" + state);
}

Policy without_rules(const std::string& name) {
  return edited_policy(name, vocab(), [](json& j) { j["temptation"] = json::array(); });
}

TEST(DecodeLoop, BansHoldAndTemptationMatchesAFullForward) {
  LlamaModel m = steered_model(kVocab, tempting_tags(4.f));
  for (const std::string name : {"ai_mode", "good_only"}) {
    const Policy policy = without_rules(name);  // no stop rule: every run reaches its natural end
    int tags_seen = 0, positions = 0;
    double max_total = 0.0;
    for (uint64_t seed = 1; seed <= 8; ++seed) {
      GenerateOptions o;
      o.max_new_tokens = 24;
      o.seed = seed;
      o.temperature = 1.5;
      const Generation g = run(m, policy, name, o);
      std::vector<int> seq = g.context;
      for (const TokenRecord& r : g.tokens) {
        const bool tag = vocab().is_tag(r.id);
        EXPECT_EQ(r.is_tag, tag);
        if (tag) {
          ASSERT_TRUE(allowed(name, r.state).count(r.id)) << "tag " << r.id << " in " << r.state;
          ++tags_seen;
        }
        if (r.id == vocab().eos_id) {
          ASSERT_EQ(name, "good_only") << "EOS where end is false";
        }
        // banned tags of this state, independently: every tag not allowed here
        std::set<int> banned;
        for (const auto& [tag_name, id] : vocab().tags)
          if (!allowed(name, r.state).count(id)) banned.insert(id);
        const std::vector<double> p = full_forward_softmax(m, seq);
        ASSERT_EQ(r.temptation.size(), banned.size());
        double total = 0.0;
        for (const auto& [tag_name, value] : r.temptation) {
          const int id = vocab().id(tag_name, "test");
          ASSERT_TRUE(banned.count(id)) << tag_name;
          EXPECT_NEAR(value, p[static_cast<size_t>(id)], 1e-4) << tag_name;
          total += p[static_cast<size_t>(id)];
        }
        EXPECT_NEAR(r.temptation_total, total, 1e-4);
        EXPECT_NEAR(r.p_raw, p[static_cast<size_t>(r.id)], 1e-4);
        EXPECT_GT(r.p_chosen, 0.f);
        max_total = std::max(max_total, total);
        ++positions;
        seq.push_back(r.id);
      }
    }
    EXPECT_GT(max_total, 0.3) << name << ": the banned tags were not tempting, so the test would prove little";
    EXPECT_GT(positions, 40) << name;
    EXPECT_GT(tags_seen, 3) << name << ": allowed tags never generated";
  }
}

TEST(DecodeLoop, WithoutAPolicyTheSameModelEmitsBannedTags) {
  // The previous test's model does produce the tags its policies ban.
  LlamaModel m = steered_model(kVocab, tempting_tags(4.f));
  const Policy none = Policy::unrestricted(vocab());
  std::set<int> seen;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    GenerateOptions o;
    o.max_new_tokens = 24;
    o.temperature = 1.5;
    o.seed = seed;
    for (const auto& r : decode_context(m, none, {1, 20, 21}, 0, o, text_of).tokens) {
      if (vocab().is_tag(r.id)) seen.insert(r.id);
      EXPECT_TRUE(r.temptation.empty());  // nothing banned, nothing tempts
    }
  }
  EXPECT_TRUE(seen.count(kBad) && seen.count(kAiOpen)) << seen.size() << " distinct tags";
}

TEST(DecodeLoop, SeededDeterminism) {
  LlamaModel m = steered_model(kVocab, tempting_tags(2.f));
  const Policy policy = without_rules("good_only");
  GenerateOptions o;
  o.max_new_tokens = 20;
  o.top_k = 50;
  o.top_p = 0.95;
  auto ids = [&](uint64_t seed) {
    o.seed = seed;
    std::vector<int> out;
    for (const auto& r : run(m, policy, "good_only", o).tokens) out.push_back(r.id);
    return out;
  };
  EXPECT_EQ(ids(7), ids(7));
  EXPECT_NE(ids(7), ids(8));
  o.greedy = true;
  EXPECT_EQ(ids(7), ids(8));  // greedy ignores the seed
}

TEST(DecodeLoop, StopTagEndsAndIsRecorded) {
  LlamaModel m = steered_model(kVocab, {{kAiClose, 40.f}});
  const Policy p = shipped_policy("ai_mode", vocab());
  GenerateOptions o;
  o.max_new_tokens = 30;
  const Generation g = run(m, p, "ai_mode", o);
  EXPECT_EQ(g.finish_reason, "stop_tag");
  ASSERT_EQ(g.tokens.size(), 1u);
  EXPECT_EQ(g.tokens[0].text, "</AI>");
  EXPECT_TRUE(g.tokens[0].is_tag);
  EXPECT_EQ(g.tokens[0].state, "ai");
  EXPECT_EQ(g.text, "");
  EXPECT_EQ(g.text_with_tags, "</AI>");
}

TEST(DecodeLoop, EosEndsOnlyWhereAllowed) {
  LlamaModel m = steered_model(kVocab, {{vocab().eos_id, 40.f}});
  GenerateOptions o;
  o.max_new_tokens = 30;
  const Policy good = shipped_policy("good_only", vocab());
  const Generation g = run(m, good, "good_only", o);
  EXPECT_EQ(g.finish_reason, "eos");
  EXPECT_EQ(g.tokens.size(), 1u);
  // ai_mode bans EOS in AI mode: the same model runs to the length limit
  const Policy ai = edited_policy("ai_mode", vocab(), [](json& j) {
    j["temptation"] = json::array();
    j["bias"] = {{"</AI>", -100.0}};  // and does not close AI mode either
  });
  const Generation h = run(m, ai, "ai_mode", o);
  EXPECT_EQ(h.finish_reason, "length");
  EXPECT_EQ(h.tokens.size(), 30u);
  for (const auto& r : h.tokens) EXPECT_NE(r.id, vocab().eos_id);
  EXPECT_LT(h.tokens[0].p_raw, 0.01f);             // EOS held nearly all the raw mass ...
  EXPECT_LT(h.tokens[0].temptation_total, 0.01f);  // ... but EOS is not a tag
  std::string text;
  for (const auto& r : h.tokens)
    if (!vocab().is_tag(r.id)) text += text_of(r.id);
  EXPECT_EQ(h.text, text);
}

// min_length and max_length count the whole sequence, context included, as
// Hugging Face's generate does (PHF gives its scenarios that way): EOS cannot
// come while the sequence is shorter than min_length; max_length ends it.
TEST(DecodeLoop, MinAndMaxLengthCountTheContext) {
  LlamaModel m = steered_model(kVocab, {{vocab().eos_id, 40.f}});  // EOS nearly always first
  const Policy good = shipped_policy("good_only", vocab());
  const size_t context = context_for("good_only").size();  // 5
  GenerateOptions o;
  o.max_new_tokens = 30;
  o.min_length = 9;  // EOS banned at lengths 5..8: 4 tokens first, EOS the 5th
  const Generation g = run(m, good, "good_only", o);
  EXPECT_EQ(g.finish_reason, "eos");
  ASSERT_EQ(g.tokens.size(), 5u);
  for (size_t i = 0; i + 1 < g.tokens.size(); ++i) EXPECT_NE(g.tokens[i].id, vocab().eos_id);
  EXPECT_EQ(g.tokens.back().id, vocab().eos_id);
  EXPECT_EQ(context + g.tokens.size() - 1, 9u);  // EOS is the first token once the sequence holds 9
  o.min_length = static_cast<int>(context);      // already met: EOS at once
  EXPECT_EQ(run(m, good, "good_only", o).tokens.size(), 1u);

  o.min_length = 12;  // no EOS before 12, where max_length ends it: exactly that long
  o.max_length = 12;
  const Generation h = run(m, good, "good_only", o);
  EXPECT_EQ(h.finish_reason, "length");
  EXPECT_EQ(context + h.tokens.size(), 12u);
  o.max_new_tokens = 3;  // whichever comes first
  EXPECT_EQ(run(m, good, "good_only", o).tokens.size(), 3u);
  o.min_length = 0;
  o.max_length = static_cast<int>(context);  // the context fills it: nothing is generated
  const auto full = decode_batch(m, good, {context_for("good_only")}, {good.state_after_start()}, o, {1}, text_of);
  ASSERT_EQ(full.size(), 1u);
  EXPECT_TRUE(full[0].tokens.empty());
  EXPECT_EQ(full[0].finish_reason, "length");
  o.max_length = 12;
  o.max_new_tokens = 30;
  o.min_length = 20;  // more than max_length: refused
  EXPECT_THROW(run(m, good, "good_only", o), Error);
  o.min_length = -1;
  EXPECT_THROW(run(m, good, "good_only", o), Error);
}

TEST(DecodeLoop, TemptationRulesFlagAndStop) {
  LlamaModel m = steered_model(kVocab, tempting_tags(4.f));
  GenerateOptions o;
  o.max_new_tokens = 30;
  const Policy stop_at_zero = edited_policy("ai_mode", vocab(), [](json& j) {
    j["temptation"] = json::array({{{"tag", "<|bad|>"}, {"threshold", 0.0}, {"action", "flag"}},
                                   {{"tag", "total"}, {"threshold", 0.0}, {"action", "stop"}}});
  });
  const Generation g = run(m, stop_at_zero, "ai_mode", o);
  EXPECT_EQ(g.finish_reason, "temptation");
  EXPECT_EQ(g.stopped_by, "total");
  ASSERT_EQ(g.tokens.size(), 1u);
  EXPECT_EQ(g.tokens[0].flags, std::vector<std::string>{"<|bad|>"});
  EXPECT_EQ(g.flags, 1);
  // A stop rule above the largest total never fires; a flag at the median fires
  // exactly at the tokens whose <|bad|> temptation is above it.
  const auto long_runs = [](json& j) {  // no </AI>: the run goes on long enough to compare
    j["temptation"] = json::array();
    j["bias"] = {{"</AI>", -100.0}};
  };
  const Policy quiet = edited_policy("ai_mode", vocab(), long_runs);
  o.seed = 5;
  const Generation base = run(m, quiet, "ai_mode", o);
  std::vector<float> bad;
  for (const auto& r : base.tokens)
    for (const auto& [tag, p] : r.temptation)
      if (tag == "<|bad|>") bad.push_back(p);
  ASSERT_EQ(bad.size(), 30u);
  std::vector<float> sorted = bad;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted[sorted.size() / 2];
  const Policy rules = edited_policy("ai_mode", vocab(), [&](json& j) {
    long_runs(j);
    j["temptation"] = json::array({{{"tag", "<|bad|>"}, {"threshold", median}, {"action", "flag"}},
                                   {{"tag", "total"}, {"threshold", base.max_temptation + 1e-4}, {"action", "stop"}}});
  });
  const Generation g2 = run(m, rules, "ai_mode", o);
  ASSERT_EQ(g2.tokens.size(), base.tokens.size());
  EXPECT_EQ(g2.finish_reason, base.finish_reason);
  int flagged = 0;
  for (size_t i = 0; i < g2.tokens.size(); ++i) {
    EXPECT_EQ(g2.tokens[i].id, base.tokens[i].id);
    EXPECT_EQ(!g2.tokens[i].flags.empty(), bad[i] > median) << i;
    flagged += !g2.tokens[i].flags.empty();
  }
  EXPECT_EQ(g2.flags, flagged);
}

TEST(DecodeLoop, ContextWindowLimitsLength) {
  LlamaModel m = steered_model(kVocab, {}, /*ctx=*/16);
  const Policy p = edited_policy("ai_mode", vocab(), [](json& j) {  // keep AI mode open
    j["temptation"] = json::array();
    j["bias"] = {{"</AI>", -100.0}, {"<AI_quoting_human>", -100.0}};
  });
  GenerateOptions o;
  o.max_new_tokens = 30;
  const Generation g = run(m, p, "ai_mode", o);
  // T context tokens leave room for ctx - T + 1 new ones (the last is never fed back)
  EXPECT_EQ(g.finish_reason, "length");
  EXPECT_EQ(g.tokens.size(), 16 - g.context.size() + 1);
  o.max_new_tokens = 0;
  EXPECT_TRUE(run(m, p, "ai_mode", o).tokens.empty());
  const std::vector<int> full(16, 20), too_long(17, 20);
  o.max_new_tokens = 5;
  EXPECT_EQ(decode_context(m, p, full, p.state_after_start(), o, text_of).tokens.size(), 1u);
  EXPECT_THROW(decode_context(m, p, too_long, p.state_after_start(), o, text_of), Error);
}

TEST(DecodeLoop, JsonRecordIsValidUtf8) {
  LlamaModel m = steered_model(kVocab, tempting_tags(3.f));
  const Policy p = shipped_policy("good_only", vocab());
  GenerateOptions o;
  o.max_new_tokens = 16;
  o.temperature = 2.0;
  // byte-fallback tokens carry parts of characters: here every token is "\xE6"
  const Generation g =
      decode_context(m, p, context_for("good_only"), p.state_after_start(), o, [](int) { return std::string("\xE6"); });
  const json j = parse_json(generation_to_json(g).dump(), "generation");
  ASSERT_EQ(j["tokens"].size(), g.tokens.size());
  EXPECT_EQ(j["finish_reason"], g.finish_reason);
  EXPECT_EQ(j["context_tokens"], g.context.size());
  double max_total = 0, sum = 0;
  for (size_t i = 0; i < g.tokens.size(); ++i) {
    const json& t = j["tokens"][i];
    EXPECT_EQ(t["id"], g.tokens[i].id);
    EXPECT_EQ(t["state"], "good");
    EXPECT_EQ(t["tag"], g.tokens[i].is_tag);
    if (!g.tokens[i].is_tag && g.tokens[i].id != vocab().eos_id) {
      EXPECT_EQ(t["text"], "\xEF\xBF\xBD");
      EXPECT_EQ(t["bytes"], json::array({0xE6}));
    }
    double total = 0;
    for (auto it = t["temptation"].begin(); it != t["temptation"].end(); ++it) total += it.value().get<double>();
    EXPECT_NEAR(t["temptation_total"].get<double>(), total, 1e-5);
    max_total = std::max(max_total, total);
    sum += total;
  }
  EXPECT_NEAR(j["max_temptation"].get<double>(), max_total, 1e-5);
  EXPECT_NEAR(j["mean_temptation"].get<double>(), sum / static_cast<double>(g.tokens.size()), 1e-5);
}

TEST(DecodeLoop, RefusesBadInput) {
  LlamaModel m = steered_model(kVocab, {});
  const Policy other_vocab = Policy::unrestricted(test_vocabulary(64));
  GenerateOptions o;
  EXPECT_THROW(decode_context(m, other_vocab, {1, 20}, 0, o, text_of), Error);
  const Policy p = shipped_policy("good_only", vocab());
  EXPECT_THROW(decode_context(m, p, {}, 0, o, text_of), Error);
  EXPECT_THROW(decode_context(m, p, {1, kVocab}, 0, o, text_of), Error);  // id outside the vocabulary
  o.top_p = 0;
  EXPECT_THROW(run(m, p, "good_only", o), Error);
  o.top_p = 1;
  o.temperature = -1;
  EXPECT_THROW(run(m, p, "good_only", o), Error);
  o.temperature = 0;  // greedy
  EXPECT_FALSE(run(m, p, "good_only", o).tokens.empty());
}

// Not a check (no timed assertions): prints how much of a decode step the
// temptation and the sampler chain (policy stage included) take for the tiny
// preset at vocabulary 4096, against the 3% budget. Run with
// --gtest_also_run_disabled_tests --gtest_filter='*Overhead*'.
TEST(DecodeLoop, DISABLED_Overhead) {
  torch::manual_seed(0);
  LlamaModel m(ModelConfig::preset("tiny", 4096));
  m->eval();
  torch::NoGradGuard no_grad;
  const TagVocabulary v = test_vocabulary(4096);
  const Policy policy = shipped_policy("ai_mode", v);
  for (const bool top_p : {false, true}) {
    GenerateOptions o;
    o.top_p = top_p ? 0.9 : 1.0;
    PolicyStage* stage = nullptr;
    SamplerChain chain = make_sampler_chain(policy, o, &stage);
    stage->set_state(policy.state_after_start());
    Rng rng(0);
    KVCache cache;
    m->forward_full(torch::randint(4096, {1, 16}, torch::kLong), &cache);
    const int steps = 200;
    double forward_s = 0, temptation_s = 0, sample_s = 0;
    using clock = std::chrono::steady_clock;
    for (int i = 0; i < steps; ++i) {
      const auto t0 = clock::now();
      const torch::Tensor logits = m->forward_full(torch::full({1, 1}, 20 + i, torch::kLong), &cache).logits;
      const torch::Tensor last = logits.index({0, -1}).contiguous();  // (V)
      const std::vector<float> l(last.data_ptr<float>(), last.data_ptr<float>() + 4096);
      const auto t1 = clock::now();
      const Temptation t = measure_temptation(l.data(), 4096, policy.state(stage->state()).banned);
      const auto t2 = clock::now();
      int tok = chain.sample(l.data(), 4096, rng);
      if (v.is_tag(tok)) tok = 30;  // stay in AI mode
      chain.accept(tok);
      const auto t3 = clock::now();
      forward_s += std::chrono::duration<double>(t1 - t0).count();
      temptation_s += std::chrono::duration<double>(t2 - t1).count();
      sample_s += std::chrono::duration<double>(t3 - t2).count();
      ASSERT_GE(t.total, 0.f);
    }
    std::printf("top_p %.1f, per token: forward %.0f us, temptation %.1f us (%.2f%%), sampler chain %.1f us (%.2f%%)\n",
                o.top_p, 1e6 * forward_s / steps, 1e6 * temptation_s / steps, 100 * temptation_s / forward_s,
                1e6 * sample_s / steps, 100 * sample_s / forward_s);
  }
}

}  // namespace
}  // namespace prealign
