// Dynamic policy rules through `prealign generate` on a real trained model:
// the AI-mode model of `demo --modes --tiny` (its tags: <AI>, </AI>,
// <AI_quoting_human>, </AI_quoting_human>). What the rules do is recomputed
// here from a run without them: an end rule must end each sample exactly where
// that run's own temptation first stays above the level, and a switch must
// change the banned set from the next token on.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "cli_run.hpp"
#include "core/files.hpp"
#include "core/json_io.hpp"
#include "shared_run.hpp"

using namespace prealign;
using namespace prealign::testing;
namespace fs = std::filesystem;

namespace {

std::vector<json> json_lines(const std::string& output) {
  std::vector<json> out;
  for (const std::string& line : lines_of(output))
    if (!line.empty() && line[0] == '{') out.push_back(json::parse(line));
  return out;
}

class RulesCli : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(PREALIGN_BINARY)) GTEST_SKIP() << "prealign not built";
    const SharedRun r = shared_run("demo-modes-tiny", "demo --modes --tiny --out {out}");
    ASSERT_EQ(r.status, 0) << r.output;
    model_ = r.dir + "/model/checkpoint";
    dir_ = temp_dir();
  }
  // ai_mode with </AI> pushed far down (samples run to the token limit) and no temptation rules.
  static json base_policy() {
    json j = json::parse(read_file(source_path("configs/policies/ai_mode.json")));
    j["bias"] = {{"</AI>", -100.0}};
    j["temptation"] = json::array();
    return j;
  }
  std::vector<json> generate(const json& policy, const std::string& name, const std::string& extra = "") {
    const std::string path = dir_ + "/" + name + ".json";
    write_file_atomic(path, policy.dump(2));
    const CliResult r = run_prealign("generate --model '" + model_ + "' --policy '" + path +
                                     "' --prompt 'The fox asked the AI about the river.' --json --max-new-tokens 16 "
                                     "--seed 4 --num-samples 4 --temperature 0.9 " + extra);
    EXPECT_EQ(r.status, 0) << r.output;
    return json_lines(r.output);
  }
  std::string model_, dir_;
};

TEST_F(RulesCli, AnEndRuleFiresWhereTheSamplesOwnTemptationSaysItMust) {
  const std::vector<json> base = generate(base_policy(), "base");
  ASSERT_EQ(base.size(), 4u);
  // The level: the median temptation_total of every token of the base run.
  std::vector<double> all;
  for (const json& g : base)
    for (const json& t : g["tokens"]) all.push_back(t["temptation_total"].get<double>());
  ASSERT_GE(all.size(), 40u);
  std::sort(all.begin(), all.end());
  const double level = all[all.size() / 2];
  json ruled = base_policy();
  ruled["rules"] = {{{"label", "pulled_twice"},
                     {"when", {{"temptation", "total"}, {"above", level}, {"for", 2}}},
                     {"do", {{"end", true}}}}};
  const std::vector<json> out = generate(ruled, "ruled");
  ASSERT_EQ(out.size(), base.size());
  int ended = 0;
  for (size_t s = 0; s < base.size(); ++s) {
    // Independently: the first token at which two consecutive totals are above the level.
    int expected = -1, run = 0;
    const json& bt = base[s]["tokens"];
    for (size_t i = 0; i < bt.size() && expected < 0; ++i) {
      run = bt[i]["temptation_total"].get<double>() > level ? run + 1 : 0;
      if (run == 2) expected = static_cast<int>(i);
    }
    const json& g = out[s];
    const json& t = g["tokens"];
    if (expected < 0) {
      EXPECT_EQ(g["finish_reason"], base[s]["finish_reason"]) << s;
      EXPECT_EQ(t.size(), bt.size()) << s;
      continue;
    }
    ++ended;
    ASSERT_EQ(static_cast<int>(t.size()), expected + 1) << s;
    EXPECT_EQ(g["finish_reason"], "rule") << s;
    EXPECT_EQ(g["stopped_by"], "pulled_twice") << s;
    for (int i = 0; i <= expected; ++i) {
      EXPECT_EQ(t[i]["id"], bt[i]["id"]) << "the same tokens until the rule acts";
      const json want = i == expected ? json::parse(R"([{"rule": "pulled_twice", "action": "ended the response"}])")
                                      : json::array();
      EXPECT_EQ(t[i]["rules"], want) << s << " token " << i;
    }
  }
  EXPECT_GE(ended, 1) << "at the median level some sample should end early";
}

TEST_F(RulesCli, ASwitchBansQuotingFromTheNextToken) {
  json ruled = base_policy();
  json no_quotes = base_policy();
  for (const char* key : {"name", "start", "description", "temptation"}) no_quotes.erase(key);
  no_quotes["states"]["ai"]["allow"].erase("<AI_quoting_human>");
  ruled["policies"] = {{"no_quotes", no_quotes}};
  ruled["rules"] = {{{"label", "no_quotes_after_5"}, {"when", {{"after_tokens", 5}}}, {"do", {{"switch", "no_quotes"}}}}};
  // Quoting made likely, so that before the switch the model does quote.
  ruled["bias"]["<AI_quoting_human>"] = 3.0;
  const std::vector<json> out = generate(ruled, "switch");
  ASSERT_EQ(out.size(), 4u);
  int quotes_before = 0;
  for (const json& g : out) {
    const json& t = g["tokens"];
    ASSERT_EQ(t.size(), 16u) << g.dump();
    for (size_t i = 0; i < t.size(); ++i) {
      const bool after = i >= 5;
      EXPECT_EQ(t[i]["policy"], after ? "no_quotes" : "ai_mode") << i;
      EXPECT_EQ(t[i]["rules"].size(), i == 4 ? 1u : 0u) << i;
      // In state "ai" the tag is temptation (banned) only under no_quotes.
      if (t[i]["state"] == "ai") {
        EXPECT_EQ(t[i]["temptation"].contains("<AI_quoting_human>"), after) << i;
      }
      if (after) {
        EXPECT_NE(t[i]["text"], "<AI_quoting_human>") << i;
      }
      quotes_before += !after && t[i]["text"] == "<AI_quoting_human>";
    }
    EXPECT_EQ(t[4]["rules"][0]["rule"], "no_quotes_after_5");
    EXPECT_NE(t[4]["rules"][0]["action"].get<std::string>().find("switched to policy \"no_quotes\""), std::string::npos);
  }
  EXPECT_GE(quotes_before, 1) << "the comparison needs quoting before the switch";
  // The plain-text output names the firings too.
  const std::string path = dir_ + "/switch.json";
  const CliResult text = run_prealign("generate --model '" + model_ + "' --policy '" + path +
                                      "' --prompt 'The fox asked the AI.' --max-new-tokens 8 --seed 4");
  ASSERT_EQ(text.status, 0) << text.output;
  EXPECT_NE(text.output.find("rules: no_quotes_after_5@5"), std::string::npos) << text.output;
}

}  // namespace
