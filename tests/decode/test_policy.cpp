// Policy loading: the shipped policies mean what their JSON says, and every
// kind of mistake in a policy file is an Error naming the file, the JSON path
// and the problem.
#include <set>

#include "core/error.hpp"
#include "core/files.hpp"
#include "decode/policy.hpp"
#include "decode_fixture.hpp"

namespace prealign {
namespace {

using namespace prealign::testing;

json ai_mode_json() { return read_json_file(source_path("configs/policies/ai_mode.json")); }

// Expects from_json to fail with a message containing every fragment.
void expect_error(const json& j, const std::vector<std::string>& fragments) {
  try {
    Policy::from_json(j, test_vocabulary(), "policy.json");
    FAIL() << "no error for " << j.dump();
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const auto& f : fragments) EXPECT_NE(msg.find(f), std::string::npos) << "missing \"" << f << "\" in: " << msg;
  }
}

std::set<int> banned_set(const Policy& p, const std::string& state) {
  const auto& b = p.state(p.state_index(state)).banned;
  return {b.begin(), b.end()};
}

TEST(Policy, AiModeMatchesSeed000) {
  const TagVocabulary v = test_vocabulary();
  const Policy p = shipped_policy("ai_mode", v);
  EXPECT_EQ(p.name(), "ai_mode");
  EXPECT_TRUE(p.start_after_prompt());
  EXPECT_EQ(p.start_tags(), std::vector<int>{kAiOpen});
  EXPECT_EQ(p.initial_state(), p.state_index("human"));
  EXPECT_EQ(p.state_after_start(), p.state_index("ai"));
  // Allowed transitions are exactly the seed-000 ones; every other tag is banned,
  // including the PHF tags the policy never mentions.
  EXPECT_EQ(banned_set(p, "human"), (std::set<int>{kGood, kBad, kAiClose, kQuoteOpen, kQuoteClose}));
  EXPECT_EQ(banned_set(p, "ai"), (std::set<int>{kGood, kBad, kAiOpen, kQuoteClose}));
  EXPECT_EQ(banned_set(p, "quoted"), (std::set<int>{kGood, kBad, kAiOpen, kAiClose, kQuoteOpen}));
  const int human = p.state_index("human"), ai = p.state_index("ai"), quoted = p.state_index("quoted");
  EXPECT_EQ(p.next_state(ai, kQuoteOpen), quoted);
  EXPECT_EQ(p.next_state(quoted, kQuoteClose), ai);
  EXPECT_EQ(p.next_state(ai, kAiClose), human);
  EXPECT_EQ(p.next_state(ai, 40), ai);  // text keeps the state
  EXPECT_THROW(p.next_state(quoted, kAiClose), Error);
  // EOS only where "end" is true; text never banned.
  EXPECT_FALSE(p.is_banned(human, v.eos_id));
  EXPECT_TRUE(p.is_banned(ai, v.eos_id));
  EXPECT_TRUE(p.is_banned(quoted, v.eos_id));
  for (int t = 10; t < v.vocab_size; ++t) EXPECT_FALSE(p.is_banned(quoted, t));
  EXPECT_TRUE(p.is_stop_tag(kAiClose));
  EXPECT_FALSE(p.is_stop_tag(kQuoteClose));
  ASSERT_EQ(p.temptation_rules().size(), 2u);
  EXPECT_EQ(p.temptation_rules()[0].tags, std::vector<int>{kAiClose});
  EXPECT_EQ(p.temptation_rules()[0].action, TemptationAction::Flag);
  EXPECT_TRUE(p.temptation_rules()[1].tags.empty());  // "total"
  EXPECT_EQ(p.temptation_rules()[1].action, TemptationAction::Stop);
  EXPECT_DOUBLE_EQ(p.temptation_rules()[1].threshold, 0.9);
  EXPECT_EQ(p.source(), ai_mode_json());
}

TEST(Policy, GoodOnlyIsPhfInference) {
  const TagVocabulary v = test_vocabulary();
  const Policy p = shipped_policy("good_only", v);
  EXPECT_FALSE(p.start_after_prompt());
  EXPECT_EQ(p.start_tags(), std::vector<int>{kGood});
  const int good = p.state_index("good");
  EXPECT_EQ(p.state_after_start(), good);
  EXPECT_FALSE(p.is_banned(good, kGood));
  EXPECT_TRUE(p.is_banned(good, kBad));
  EXPECT_FALSE(p.is_banned(good, v.eos_id));
  EXPECT_EQ(banned_set(p, "good"), (std::set<int>{kBad, kAiOpen, kAiClose, kQuoteOpen, kQuoteClose}));
  ASSERT_EQ(p.temptation_rules().size(), 1u);
  EXPECT_EQ(p.temptation_rules()[0].tags, std::vector<int>{kBad});
}

TEST(Policy, UnrestrictedBansNothing) {
  const TagVocabulary v = test_vocabulary();
  const Policy p = Policy::unrestricted(v);
  ASSERT_EQ(p.states().size(), 1u);
  EXPECT_EQ(p.states()[0].name, "any");
  EXPECT_TRUE(p.start_tags().empty());
  for (int t = 0; t < v.vocab_size; ++t) {
    EXPECT_FALSE(p.is_banned(0, t)) << t;
    EXPECT_EQ(p.next_state(0, t), 0);
  }
}

TEST(Policy, TagVocabularyLookups) {
  const TagVocabulary v = test_vocabulary();
  EXPECT_EQ(v.id("</AI>", "x"), kAiClose);
  EXPECT_TRUE(v.is_tag(kQuoteOpen));
  EXPECT_FALSE(v.is_tag(v.eos_id));
  EXPECT_FALSE(v.is_tag(30));
  try {
    v.id("<Ai>", "policy.json: states.ai.allow");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("known tags: <|good|> <|bad|> <AI>"), std::string::npos) << e.what();
  }
}

TEST(PolicyErrors, UnknownTagNamesFileAndPath) {
  json j = ai_mode_json();
  j["states"]["ai"]["allow"] = {{"<Ai>", "ai"}};
  expect_error(j, {"policy.json: states.ai.allow", "unknown tag \"<Ai>\"", "hint: known tags:", "</AI_quoting_human>"});
  j = ai_mode_json();
  j["stop_tags"] = {"</Ai>"};
  expect_error(j, {"stop_tags[0]", "unknown tag \"</Ai>\""});
  j = ai_mode_json();
  j["bias"] = {{"<|ugly|>", 1.0}};
  expect_error(j, {"bias", "unknown tag \"<|ugly|>\""});
  j = ai_mode_json();
  j["temptation"][0]["tag"] = "<AI";
  expect_error(j, {"temptation[0].tag", "unknown tag \"<AI\""});
}

TEST(PolicyErrors, UnknownState) {
  json j = ai_mode_json();
  j["states"]["ai"]["allow"]["</AI>"] = "humans";
  expect_error(j, {"states.ai.allow.</AI>", "unknown state \"humans\"", "ai, human, quoted"});
  j = ai_mode_json();
  j["initial_state"] = "robot";
  expect_error(j, {"initial_state", "unknown state \"robot\""});
  const Policy p = Policy::from_json(ai_mode_json(), test_vocabulary(), "policy.json");
  EXPECT_THROW(p.state_index("robot"), Error);
}

TEST(PolicyErrors, StartTagMustBeAllowedWhereApplied) {
  json j = ai_mode_json();
  j["start"]["tags"] = {"</AI>"};  // not allowed in "human"
  expect_error(j, {"start.tags[0]", "</AI> is not allowed in state \"human\"", "allows: <AI>"});
  j = ai_mode_json();
  j["start"]["tags"] = {"<AI>", "<AI>"};  // the second is applied in "ai"
  expect_error(j, {"start.tags[1]", "not allowed in state \"ai\""});
  j = ai_mode_json();
  j["start"]["tags"] = {"<AI>", "<AI_quoting_human>"};  // a valid walk
  const Policy p = Policy::from_json(j, test_vocabulary(), "policy.json");
  EXPECT_EQ(p.state_after_start(), p.state_index("quoted"));
  j = ai_mode_json();
  j["start"]["position"] = "middle";
  expect_error(j, {"start.position", "unknown position \"middle\""});
}

TEST(PolicyErrors, BadThresholdAndAction) {
  for (double bad : {-0.1, 1.5}) {
    json j = ai_mode_json();
    j["temptation"][1]["threshold"] = bad;
    expect_error(j, {"temptation[1].threshold", "outside [0, 1]"});
  }
  json j = ai_mode_json();
  j["temptation"][0]["threshold"] = "high";
  expect_error(j, {"temptation[0]", "threshold"});
  j = ai_mode_json();
  j["temptation"][0]["action"] = "panic";
  expect_error(j, {"temptation[0].action", "unknown action \"panic\""});
  j = ai_mode_json();
  j["temptation"][0]["threshold"] = 0.0;  // the edges are fine
  j["temptation"][1]["threshold"] = 1.0;
  EXPECT_NO_THROW(Policy::from_json(j, test_vocabulary(), "policy.json"));
}

TEST(PolicyErrors, ShapeMistakes) {
  json j = ai_mode_json();
  j["stop_tag"] = {"</AI>"};  // typo of stop_tags
  expect_error(j, {"unknown key \"stop_tag\"", "stop_tags"});
  j = ai_mode_json();
  j["states"]["ai"]["allows"] = json::object();
  expect_error(j, {"states.ai", "unknown key \"allows\""});
  j = ai_mode_json();
  j["states"]["ai"]["end"] = "no";
  expect_error(j, {"states.ai.end", "true or false"});
  j = ai_mode_json();
  j.erase("states");
  expect_error(j, {"missing \"states\""});
  j = ai_mode_json();
  j["states"] = json::object();
  expect_error(j, {"states", "non-empty"});
  j = ai_mode_json();
  j["bias"]["<AI_quoting_human>"] = "lots";
  expect_error(j, {"bias.<AI_quoting_human>", "finite number"});
  j = ai_mode_json();
  j["name"] = 3;
  expect_error(j, {"\"name\" must be a string"});
  expect_error(json::array(), {"policy.json", "expected a JSON object"});
}

TEST(PolicyErrors, LoadNamesTheFile) {
  const std::string path = temp_dir() + "/broken.json";
  json j = ai_mode_json();
  j["states"]["quoted"]["allow"] = {{"</AI_quoting_humans>", "ai"}};
  write_json_file(path, j);
  try {
    Policy::load(path, test_vocabulary());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ": states.quoted.allow: unknown tag"), std::string::npos) << e.what();
  }
}

TEST(PolicyErrors, TagListRulesAndBias) {
  json j = ai_mode_json();
  j["temptation"].push_back({{"tag", {"<|good|>", "<|bad|>"}}, {"threshold", 0.2}, {"action", "stop"}});
  j["bias"] = {{"<AI_quoting_human>", -2.5}};
  const Policy p = Policy::from_json(j, test_vocabulary(), "policy.json");
  ASSERT_EQ(p.temptation_rules().size(), 3u);
  EXPECT_EQ(p.temptation_rules()[2].tags, (std::vector<int>{kGood, kBad}));
  EXPECT_EQ(p.temptation_rules()[2].label, "<|good|>+<|bad|>");
  EXPECT_FLOAT_EQ(p.bias().at(kQuoteOpen), -2.5f);
}

}  // namespace
}  // namespace prealign
