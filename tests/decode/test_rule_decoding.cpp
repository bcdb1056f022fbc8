// Dynamic rules as a sequence decodes: each condition fires at the token an
// independent count says it must and not before, each action changes what the
// sampler does from the next token on (checked against a hand softmax), and
// the records say what happened. The two seed-004 examples are the shipped
// configs/policies/customer_service.json and fiction.json.
#include <set>

#include "core/error.hpp"
#include "decode/temptation.hpp"
#include "tokenizer/tagset.hpp"
#include "tokenizer/tokenizer.hpp"
#include "rules_fixture.hpp"

namespace prealign {
namespace {

using namespace prealign::testing;

std::vector<std::string> labels(const TokenRecord& r) {
  std::vector<std::string> out;
  for (const RuleFiring& f : r.rules) out.push_back(f.rule);
  return out;
}

std::set<std::string> tempting(const TokenRecord& r) {
  std::set<std::string> out;
  for (const auto& [tag, p] : r.temptation) out.insert(tag);
  return out;
}

// The index of the token at which "above `level` for `k` consecutive tokens"
// first holds, counted here from the raw softmax of each step; -1 if never.
int first_run(const std::vector<std::vector<float>>& steps, int tag, double level, int k) {
  int run = 0;
  for (size_t i = 0; i < steps.size(); ++i) {
    run = reference_softmax(steps[i])[static_cast<size_t>(tag)] > level ? run + 1 : 0;
    if (run == k) return static_cast<int>(i);
  }
  return -1;
}

TEST(RuleDecoding, CustomerServiceEndsWhenAngerStaysAbove03ForThreeTokens) {
  const Policy p = rules_policy(policy_json("customer_service"), "customer_service.json");
  // Runs of 1, 2 (broken by 0.29), 2 (broken by 0.2999, just below), then 3. The level itself is
  // RuleEngine.FiresOnlyStrictlyAboveTheLevel's: a float logit cannot put exactly 0.3 on a tag.
  const std::vector<double> mass = {0.5, 0.1, 0.35, 0.31, 0.29, 0.4, 0.45, 0.2999, 0.6, 0.31, 0.32, 0.9, 0.9};
  std::vector<std::vector<float>> steps;
  for (double m : mass) steps.push_back(logits_with_mass(kAngry, m));
  const int expected = first_run(steps, kAngry, 0.3, 3);
  ASSERT_EQ(expected, 10) << "the hand-made masses should first stay above 0.3 at tokens 8, 9, 10";
  const Generation g = decode_steps(p, steps);
  ASSERT_EQ(static_cast<int>(g.tokens.size()), expected + 1) << "ends at the third consecutive token, not before";
  EXPECT_EQ(g.finish_reason, "rule");
  EXPECT_EQ(g.stopped_by, "angry_for_3_tokens");
  for (int i = 0; i < expected; ++i) EXPECT_TRUE(g.tokens[static_cast<size_t>(i)].rules.empty()) << i;
  const TokenRecord& last = g.tokens.back();
  ASSERT_EQ(last.rules.size(), 1u);
  EXPECT_EQ(last.rules[0].rule, "angry_for_3_tokens");
  EXPECT_EQ(last.rules[0].action, "ended the response");
  EXPECT_EQ(last.id, kText) << "the token at which the rule fires was allowed and is kept";
  // The temptation recorded is the raw mass, and <angry> was never generated.
  for (size_t i = 0; i < g.tokens.size(); ++i) {
    const TokenRecord& r = g.tokens[i];
    EXPECT_NE(r.id, kAngry);
    float angry = -1;
    for (const auto& [tag, q] : r.temptation)
      if (tag == "<angry>") angry = q;
    EXPECT_NEAR(angry, reference_softmax(steps[i])[kAngry], 1e-6) << i;
    // The policy's own temptation rule flags each token above 0.3 on its own.
    EXPECT_EQ(!r.flags.empty(), reference_softmax(steps[i])[kAngry] > 0.3) << i;
  }
}

TEST(RuleDecoding, ATextRuleFiresOnEachNewOccurrenceEvenAcrossTokens) {
  const Policy p = rules_policy(policy_json("customer_service"));
  const std::vector<std::string> pieces = {"We ", "can ", "re", "fund ", "it; ", "<refund>", "a refund", "."};
  std::vector<std::vector<float>> steps;
  for (size_t i = 0; i < pieces.size(); ++i) {
    std::vector<float> l(kRulesVocab, 0.f);
    l[12 + i] = 5.f;  // token 12 + i is the greedy choice, its text pieces[i]
    steps.push_back(l);
  }
  const Generation g = decode_steps(p, steps, {1}, greedy_options(), [&](int id) { return pieces.at(id - 12); });
  ASSERT_EQ(g.tokens.size(), pieces.size());
  std::vector<size_t> fired;
  for (size_t i = 0; i < g.tokens.size(); ++i)
    if (!g.tokens[i].rules.empty()) {
      fired.push_back(i);
      EXPECT_EQ(labels(g.tokens[i]), std::vector<std::string>{"refund_mentioned"});
      EXPECT_EQ(g.tokens[i].rules[0].action, "flagged");
      EXPECT_NE(std::find(g.tokens[i].flags.begin(), g.tokens[i].flags.end(), "refund_mentioned"),
                g.tokens[i].flags.end());
    }
  // Independently: the positions where "refund" ends in the joined text.
  std::string text;
  std::vector<size_t> expected;
  for (size_t i = 0; i < pieces.size(); ++i) {
    const size_t before = text.size();
    text += pieces[i];
    for (size_t at = text.find("refund"); at != std::string::npos; at = text.find("refund", at + 1))
      if (at + 6 > before && at + 6 <= text.size()) {
        expected.push_back(i);
        break;
      }
  }
  EXPECT_EQ(fired, (std::vector<size_t>{3, 5, 6}));
  EXPECT_EQ(fired, expected);
  EXPECT_EQ(g.finish_reason, "length");
}

// The fiction policy: <nsfw> banned unless the context holds <mature>.
TEST(RuleDecoding, FictionAllowsNsfwOnlyWithAMatureContextAndThenAtMinusFour) {
  const Policy p = rules_policy(policy_json("fiction"), "fiction.json");
  // <nsfw> is the most likely token at every step (mass 0.6 of the raw softmax).
  const std::vector<std::vector<float>> steps(4, logits_with_mass(kNsfw, 0.6));
  // The context a deployment gets with the shipped start tags: no <mature>.
  const Generation plain = decode_steps(p, steps, {1, kFiction, 30, 31});
  ASSERT_EQ(plain.tokens.size(), 4u);
  for (const TokenRecord& r : plain.tokens) {
    EXPECT_EQ(r.id, kText);
    EXPECT_TRUE(r.rules.empty());
    EXPECT_EQ(r.policy, "fiction");
    EXPECT_EQ(r.state, "story");
    EXPECT_EQ(tempting(r).count("<nsfw>"), 1u) << "banned, so its pull is temptation";
  }
  // A context that holds the tag (as start tags ["<mature>", "<fiction>"] give it).
  const Generation mature = decode_steps(p, steps, {1, kMature, kFiction, 30, 31});
  ASSERT_FALSE(mature.tokens.empty());
  const TokenRecord& first = mature.tokens[0];
  EXPECT_EQ(labels(first), std::vector<std::string>{"mature_context"}) << "fired before the first token, recorded on it";
  EXPECT_EQ(first.rules[0].action, "switched to policy \"fiction_mature\" (state \"story\")");
  EXPECT_EQ(first.policy, "fiction_mature");
  EXPECT_EQ(tempting(first).count("<nsfw>"), 0u) << "allowed there: no temptation";
  // Allowed at bias -4: greedy compares 0.6-mass logit - 4 with the text token's 1.
  const float a = logits_with_mass(kNsfw, 0.6)[kNsfw];
  EXPECT_EQ(first.id, a - 4.f > 1.f ? kNsfw : kText);
  std::vector<float> biased = steps[0];
  biased[kNsfw] -= 4.f;
  for (int t : {kAngry, kAngryClose, kRude, kNsfwClose, kMature, kFiction}) biased[t] = -INFINITY;  // banned in story
  const std::vector<double> q = reference_softmax(biased);
  EXPECT_NEAR(first.p_chosen, q[static_cast<size_t>(first.id)], 1e-6) << "the final distribution is the biased softmax";
  for (size_t i = 1; i < mature.tokens.size(); ++i) EXPECT_TRUE(mature.tokens[i].rules.empty()) << "fires once";
}

// Trusted tags only: a prompt that spells <mature> gives text tokens, and the
// policy's start tags decide (docs/formats.md, "Where a tag id can come from").
TEST(RuleDecoding, FictionStartTagsAreWhatUnlocks) {
  json j = policy_json("fiction");
  j["start"]["tags"] = {"<mature>", "<fiction>"};
  const Policy adult = rules_policy(j);
  EXPECT_EQ(adult.state(adult.state_after_start()).name, "story");
  const std::vector<std::vector<float>> steps(2, logits_with_mass(kNsfw, 0.99));
  const Generation g = decode_steps(adult, steps, {1, kMature, kFiction, 30});
  EXPECT_EQ(g.tokens[0].id, kNsfw) << "with 0.99 of the mass, <nsfw> survives a bias of -4";
  EXPECT_EQ(g.tokens[1].state, "explicit");
  // The model itself can never emit <mature>: it is banned wherever text is generated.
  const Policy p = rules_policy(policy_json("fiction"));
  EXPECT_TRUE(p.is_banned(p.state_index("story"), kMature));
  for (int s = 0; s < static_cast<int>(p.member(1).states().size()); ++s) EXPECT_TRUE(p.member(1).is_banned(s, kMature));
}

// A switch mid-response: the new policy's bans and temptation from the next token on.
TEST(RuleDecoding, ASwitchChangesTheBannedSetFromTheNextToken) {
  json j = {{"name", "open"},
            {"initial_state", "s"},
            {"states", {{"s", {{"allow", {{"<rude>", "s"}}}}}}},
            {"rules", {{{"label", "lock_after_3"}, {"when", {{"after_tokens", 3}}}, {"do", {{"switch", "strict"}}}}}},
            {"policies", {{"strict", {{"initial_state", "t"}, {"states", {{"t", json::object()}}}}}}}};
  const Policy p = rules_policy(j);
  // <rude> is the greedy choice wherever it is allowed.
  const std::vector<std::vector<float>> steps(6, logits_with_mass(kRude, 0.7));
  const Generation g = decode_steps(p, steps);
  ASSERT_EQ(g.tokens.size(), 6u);
  for (size_t i = 0; i < 6; ++i) {
    const TokenRecord& r = g.tokens[i];
    const bool after = i >= 3;  // fired at token 3 (index 2): acts from index 3 on
    EXPECT_EQ(r.id, after ? kText : kRude) << i;
    EXPECT_EQ(r.policy, after ? "strict" : "open") << i;
    EXPECT_EQ(r.state, after ? "t" : "s") << i << ": no state of that name in strict: its initial state";
    EXPECT_EQ(tempting(r).count("<rude>"), after ? 1u : 0u) << i;
    EXPECT_EQ(labels(r), i == 2 ? std::vector<std::string>{"lock_after_3"} : std::vector<std::string>{}) << i;
  }
  EXPECT_EQ(g.tokens[2].rules[0].action, "switched to policy \"strict\" (state \"t\")");
  for (const auto& [tag, q] : g.tokens[3].temptation)
    if (tag == "<rude>") {
      EXPECT_NEAR(q, 0.7, 1e-6);
    }
}

// Bias actions: the sampling distribution after the rule is the softmax of the
// logits plus the added bias; remove_bias takes it away again.
TEST(RuleDecoding, BiasActionsShiftTheDistributionByTheExpectedFactor) {
  json j = {{"name", "b"},
            {"initial_state", "s"},
            {"states", {{"s", {{"allow", {{"<rude>", "s"}}}, {"end", false}}}}},  // no EOS: 8 tokens
            {"bias", {{"<rude>", -1.0}}},
            {"rules",
             {{{"label", "calm_down"}, {"when", {{"after_tokens", 2}}}, {"do", {{"bias", {{"<rude>", -2.5}, {"21", 1.5}}}}}},
              {{"label", "forgive"}, {"when", {{"after_tokens", 5}}}, {"do", {{"remove_bias", {"<rude>"}}}}}}}};
  const Policy p = rules_policy(j);
  GenerateOptions o;
  o.max_new_tokens = 8;  // sampling at temperature 1: p_chosen is the full distribution's
  Rng rng(11);
  std::vector<std::vector<float>> steps;
  for (int i = 0; i < 8; ++i) {
    std::vector<float> l(kRulesVocab);
    for (float& x : l) x = static_cast<float>(static_cast<double>(rng() % 1000) / 250.0);
    steps.push_back(l);
  }
  const Generation g = decode_steps(p, steps, {1}, o);
  ASSERT_EQ(g.tokens.size(), 8u);
  for (size_t i = 0; i < 8; ++i) {
    std::vector<float> expected = steps[i];
    for (int t : {kAngry, kAngryClose, kNsfw, kNsfwClose, kMature, kFiction, 2}) expected[t] = -INFINITY;  // banned
    expected[kRude] -= 1.f;  // the policy's own bias, always
    if (i >= 2 && i < 5) expected[kRude] -= 2.5f;  // added after token 2, removed after token 5
    if (i >= 2) expected[21] += 1.5f;             // never removed
    const std::vector<double> q = reference_softmax(expected);
    EXPECT_NEAR(g.tokens[i].p_chosen, q[static_cast<size_t>(g.tokens[i].id)], 2e-6) << i;
  }
  EXPECT_EQ(g.tokens[1].rules.size(), 1u);
  // In the order JSON objects keep their keys (sorted): "21" before "<rude>".
  EXPECT_EQ(g.tokens[1].rules[0].action, "bias token 21 +1.5 (now 1.5), <rude> -2.5 (now -3.5)");
  EXPECT_EQ(g.tokens[4].rules[0].action, "removed rule biases: <rude> (now -1)");
  // The factor itself, on one candidate set: p(<rude>) / p(t) shrinks by e^-2.5 against any text token t.
  PolicyStage stage(p);
  Candidates c;
  c.reset(steps[0].data(), kRulesVocab);
  Rng unused(1);
  stage.apply(c, unused);
  const double before = std::exp(double(c.items[kRude].logit) - c.items[30].logit);
  stage.add_bias(kRude, -2.5f);
  c.reset(steps[0].data(), kRulesVocab);
  stage.apply(c, unused);
  const double after = std::exp(double(c.items[kRude].logit) - c.items[30].logit);
  EXPECT_NEAR(after / before, std::exp(-2.5), 1e-6);
}

TEST(RuleDecoding, EnterStateMonitorAndRepeat) {
  json j = {{"name", "m"},
            {"initial_state", "calm"},
            {"states", {{"calm", {{"allow", {{"<angry>", "angry"}}}}}, {"angry", {{"allow", {{"</angry>", "calm"}}}}}}},
            {"rules",
             {{{"label", "entered_anger"}, {"when", {{"enter_state", "angry"}}}, {"do", {{"flag", true}}}, {"repeat", true}},
              {{"label", "probe_high"},
               {"when", {{"monitor", "probe_human"}, {"above", 0.8}, {"for", 2}}},
               {"do", {{"flag", true}}},
               {"repeat", true}}}}};
  const Policy p = rules_policy(j);
  // Tokens: <angry>, text, </angry>, text, <angry>, text, text, text.
  const std::vector<int> chosen = {kAngry, kText, kAngryClose, kText, kAngry, kText, kText, kText};
  std::vector<std::vector<float>> steps;
  for (int id : chosen) {
    std::vector<float> l(kRulesVocab, 0.f);
    l[static_cast<size_t>(id)] = 9.f;
    steps.push_back(l);
  }
  const std::vector<float> probe = {0.9f, 0.9f, 0.95f, 0.1f, 0.85f, 0.81f, 0.2f, 0.99f};
  const Generation g = decode_steps(p, steps, {1}, greedy_options(), piece,
                                    [&](size_t i, TokenRecord& r) { r.monitor.emplace_back("probe_human", probe[i]); });
  ASSERT_EQ(g.tokens.size(), chosen.size());
  std::vector<std::vector<std::string>> expected(chosen.size());
  expected[0].push_back("entered_anger");  // calm -> angry
  expected[4].push_back("entered_anger");  // again (repeat)
  expected[1].push_back("probe_high");     // 0.9, 0.9: two above 0.8
  expected[5].push_back("probe_high");     // 0.85, 0.81: a new run (0.95 continued the first one)
  for (size_t i = 0; i < chosen.size(); ++i) {
    EXPECT_EQ(g.tokens[i].id, chosen[i]);
    EXPECT_EQ(labels(g.tokens[i]), expected[i]) << i;
  }
}

TEST(RuleDecoding, OnceMeansOnceAndATemptationStopWinsOverAnEnd) {
  json j = policy_json("customer_service");
  j["temptation"] = json::array({{{"tag", "<angry>"}, {"threshold", 0.95}, {"action", "stop"}}});
  j["rules"][0]["when"]["for"] = 1;
  const Policy p = rules_policy(j);
  const Generation both = decode_steps(p, {logits_with_mass(kAngry, 0.97)});
  EXPECT_EQ(both.finish_reason, "temptation");
  EXPECT_EQ(both.stopped_by, "<angry>");
  EXPECT_EQ(labels(both.tokens[0]), std::vector<std::string>{"angry_for_3_tokens"}) << "still recorded";
  // A flag rule without "repeat" fires at its first occurrence only.
  j = policy_json("customer_service");
  j["rules"][1].erase("repeat");
  const Generation once = decode_steps(rules_policy(j), std::vector<std::vector<float>>(3, logits_with_mass(kAngry, 0.1)),
                                       {1}, greedy_options(), [](int) { return std::string("refund "); });
  EXPECT_EQ(labels(once.tokens[0]), std::vector<std::string>{"refund_mentioned"});
  EXPECT_TRUE(once.tokens[1].rules.empty());
  EXPECT_TRUE(once.tokens[2].rules.empty());
}

TEST(RuleDecoding, RecordsInJson) {
  const Policy p = rules_policy(policy_json("customer_service"));
  Generation g = decode_steps(p, std::vector<std::vector<float>>(3, logits_with_mass(kAngry, 0.5)));
  const json j = generation_to_json(g);
  EXPECT_EQ(j["finish_reason"], "rule");
  EXPECT_EQ(j["stopped_by"], "angry_for_3_tokens");
  EXPECT_EQ(j["tokens"][0]["rules"], json::array());
  EXPECT_EQ(j["tokens"][2]["rules"], json::parse(R"([{"rule": "angry_for_3_tokens", "action": "ended the response"}])"));
  EXPECT_FALSE(j["tokens"][0].contains("policy")) << "one policy in the file: no per-token policy";
}


// With a real tokenizer whose tags include <mature>: a prompt that spells the
// tag is text, so the fiction policy never switches; only start tags unlock.
TEST(RuleDecoding, APromptThatSpellsTheContextTagUnlocksNothing) {
  const std::string dir = temp_dir();
  Tagset tags = Tagset::from_json(json::parse(R"({"name": "fiction", "tags": [{"name": "<fiction>"},
      {"name": "<mature>"}, {"name": "<nsfw>"}, {"name": "</nsfw>"}]})"), "tagset");
  int next = 0;
  TokenizerTrainOptions to;
  to.vocab_size = 300;
  to.threads = 1;
  Tokenizer::train([&](std::string& t) {
    if (next >= 200) return false;
    t = "Once upon a time story " + std::to_string(next++) + " <mature> went on and on.\n";
    return true;
  }, tags, to, dir + "/tokenizer.model");
  const Tokenizer tok = Tokenizer::load(dir + "/tokenizer.model", tags);
  const TagVocabulary v = TagVocabulary::of(tok);
  const int mature = v.id("<mature>", "test"), nsfw = v.id("<nsfw>", "test");
  const Policy p = Policy::from_json(policy_json("fiction"), v, "fiction.json");
  const std::vector<int> ctx = prompt_context(tok, p, "<mature> Tell me a story <mature>");
  EXPECT_EQ(std::count(ctx.begin(), ctx.end(), mature), 0) << "typed text never becomes a tag";
  std::vector<float> l(static_cast<size_t>(tok.vocab_size()), 0.f);
  l[static_cast<size_t>(nsfw)] = 12.f;
  SequenceDecoder d(p, greedy_options(), ctx, p.state_after_start(), 1);
  d.step(l, 4096, [&](int id) { return tok.token_bytes(id); });
  const Generation g = d.take();
  EXPECT_TRUE(g.tokens[0].rules.empty());
  EXPECT_NE(g.tokens[0].id, nsfw);
  EXPECT_EQ(g.tokens[0].policy, "fiction");
  // The same prompt under start tags that carry <mature>: switched before the first token.
  json j = policy_json("fiction");
  j["start"]["tags"] = {"<mature>", "<fiction>"};
  const Policy adult = Policy::from_json(j, v, "adult.json");
  const std::vector<int> adult_ctx = prompt_context(tok, adult, "Tell me a story");
  SequenceDecoder a(adult, greedy_options(), adult_ctx, adult.state_after_start(), 1);
  a.step(l, 4096, [&](int id) { return tok.token_bytes(id); });
  const Generation h = a.take();
  ASSERT_EQ(h.tokens[0].rules.size(), 1u);
  EXPECT_EQ(h.tokens[0].id, nsfw) << "logit 12 - 4 still wins";
  // The context tag given as `generate --context-tags` gives it: right after BOS, where training
  // puts a document's context tags, before the policy's start tags and the prompt.
  const std::vector<int> plain = prompt_context(tok, p, "Tell me a story");
  const std::vector<int> tagged = prompt_context(tok, p, "Tell me a story", {mature});
  ASSERT_EQ(tagged.size(), plain.size() + 1);
  EXPECT_EQ(tagged[0], Tokenizer::kBos);
  EXPECT_EQ(tagged[1], mature);
  EXPECT_EQ(std::vector<int>(tagged.begin() + 2, tagged.end()), std::vector<int>(plain.begin() + 1, plain.end()));
  SequenceDecoder c(p, greedy_options(), tagged, p.state_after_start(), 1);
  c.step(l, 4096, [&](int id) { return tok.token_bytes(id); });
  const Generation k = c.take();
  ASSERT_EQ(k.tokens[0].rules.size(), 1u) << "the context tag switches the policy before the first token";
  EXPECT_EQ(k.tokens[0].id, nsfw);
}

}  // namespace
}  // namespace prealign
