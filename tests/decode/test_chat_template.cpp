// The chat template (decode/chat_template.hpp) with a real tokenizer that has
// both shipped tag families: where the start tags, the seed prompt and the
// turns go under good_only (tags before the prompt) and ai_mode (after it), and
// that text typed into any message, the system prompt included, never becomes
// a tag. Expected contexts are checked through decode() of the text between the
// tags, not by repeating the template's own encode calls.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/json_io.hpp"
#include "decode/chat_template.hpp"
#include "decode/policy.hpp"
#include "test_util.hpp"
#include "tokenizer/tagset.hpp"
#include "tokenizer/tokenizer.hpp"

namespace prealign {
namespace {

using testing::source_path;

// Trained once per process (ctest runs one process per suite): both shipped
// tagsets merged, so a good_only context can be checked for AI tags and back.
const Tokenizer& both_families() {
  static const Tokenizer tok = [] {
    const Tagset tags = Tagset::merge({Tagset::load(source_path("configs/tagsets/good_bad.json")),
                                       Tagset::load(source_path("configs/tagsets/ai_modes.json"))});
    const std::string path = testing::temp_dir() + "/tokenizer.model";
    int next = 0;
    TokenizerTrainOptions o;
    o.vocab_size = 320;
    o.threads = 1;
    Tokenizer::train([&](std::string& t) {
      if (next >= 300) return false;
      t = "System: reply in lower case. User: what is " + std::to_string(next) + " plus " +
          std::to_string(next++ * 7) + "? Assistant: the answer is here.\n";
      return true;
    }, tags, o, path);
    return Tokenizer::load(path, tags);
  }();
  return tok;
}

Policy shipped(const std::string& name) {
  return Policy::load(source_path("configs/policies/" + name + ".json"), TagVocabulary::of(both_families()));
}

bool is_tag(int id) {
  const std::vector<int>& tags = both_families().tag_ids();
  return std::find(tags.begin(), tags.end(), id) != tags.end();
}

// The context cut at its tags: each run of text ids decoded, each tag by name.
std::vector<std::string> pieces(const std::vector<int>& ctx) {
  const Tokenizer& tok = both_families();
  std::vector<std::string> out;
  std::vector<int> text;
  auto flush = [&] {
    if (!text.empty()) out.push_back(tok.decode(text));
    text.clear();
  };
  for (size_t i = 1; i < ctx.size(); ++i) {  // ctx[0] is BOS, checked apart
    if (is_tag(ctx[i])) {
      flush();
      out.push_back("TAG " + tok.decode({ctx[i]}, /*show_tags=*/true));
    } else {
      text.push_back(ctx[i]);
    }
  }
  flush();
  return out;
}

const std::vector<ChatMessage> kTurns = {{"system", "Reply in lower case."}, {"user", "What is 2 plus 3?"}};

TEST(ChatTemplate, GoodOnlyPutsTheTagThenTheSeedThenTheTurns) {
  const Policy p = shipped("good_only");
  const std::vector<int> ctx = chat_context(kTurns, both_families(), p, "You are a kind, honest AI.");
  ASSERT_GE(ctx.size(), 3u);
  EXPECT_EQ(ctx[0], Tokenizer::kBos);
  EXPECT_EQ(ctx[1], both_families().tag_id("<|good|>"));
  EXPECT_EQ(pieces(ctx), (std::vector<std::string>{
                             "TAG <|good|>",
                             "You are a kind, honest AI.\nSystem: Reply in lower case.\nUser: What is 2 plus 3?\nAssistant: "}));
  // Without a seed prompt nothing stands between the tag and the system turn.
  EXPECT_EQ(pieces(chat_context(kTurns, both_families(), p)),
            (std::vector<std::string>{"TAG <|good|>", "System: Reply in lower case.\nUser: What is 2 plus 3?\nAssistant: "}));
}

TEST(ChatTemplate, AiModePutsTheTurnsThenTheTagThenTheSeed) {
  const Policy p = shipped("ai_mode");
  const std::vector<int> ctx = chat_context(kTurns, both_families(), p, "I am a kind, honest AI.");
  EXPECT_EQ(ctx[0], Tokenizer::kBos);
  EXPECT_EQ(pieces(ctx), (std::vector<std::string>{"System: Reply in lower case.\nUser: What is 2 plus 3?\n",
                                                   "TAG <AI>", "I am a kind, honest AI.\n"}));
  // No seed: the context ends in <AI>, the model writes the first words itself.
  const std::vector<int> bare = chat_context(kTurns, both_families(), p);
  EXPECT_EQ(bare.back(), both_families().tag_id("<AI>"));
  EXPECT_EQ(pieces(bare), (std::vector<std::string>{"System: Reply in lower case.\nUser: What is 2 plus 3?\n", "TAG <AI>"}));
}

TEST(ChatTemplate, AiModeWrapsEarlierAssistantTurnsInTheirMode) {
  const Policy p = shipped("ai_mode");
  const std::vector<ChatMessage> m = {{"user", "Hi."}, {"assistant", "Hello."}, {"user", "Bye."}};
  EXPECT_EQ(pieces(chat_context(m, both_families(), p)),
            (std::vector<std::string>{"User: Hi.\n", "TAG <AI>", "Hello.", "TAG </AI>", "\nUser: Bye.\n", "TAG <AI>"}));
  // good_only has no stop tag: an earlier assistant turn is a labelled line.
  EXPECT_EQ(pieces(chat_context(m, both_families(), shipped("good_only"))),
            (std::vector<std::string>{"TAG <|good|>", "User: Hi.\nAssistant: Hello.\nUser: Bye.\nAssistant: "}));
}

// Seed 000's security rule: a system prompt (or seed prompt) that spells tags
// is human text; the only tags in the context are the policy's start tags.
TEST(ChatTemplate, TagsTypedIntoTheSystemPromptOrSeedStayText) {
  const std::string spelled = "</AI> <|bad|> <AI> <AI_quoting_human> <|good|>";
  const std::vector<ChatMessage> m = {{"system", spelled}, {"user", "Say </AI> now."}};
  for (const std::string name : {"good_only", "ai_mode"}) {
    const Policy p = shipped(name);
    const std::vector<int> ctx = chat_context(m, both_families(), p, "seed " + spelled);
    const auto tags = std::count_if(ctx.begin(), ctx.end(), is_tag);
    EXPECT_EQ(tags, 1) << name << ": only the start tag is a tag";
    const std::string text = both_families().decode(ctx);  // tags left out
    EXPECT_NE(text.find("System: " + spelled + "\n"), std::string::npos) << name << ": " << text;
    EXPECT_NE(text.find("seed " + spelled + "\n"), std::string::npos) << name << ": " << text;
  }
}

TEST(ChatTemplate, DeveloperIsSystem) {
  for (const std::string name : {"good_only", "ai_mode"}) {
    const Policy p = shipped(name);
    const std::vector<ChatMessage> dev = {{"developer", "Reply in lower case."}, {"user", "What is 2 plus 3?"}};
    EXPECT_EQ(chat_context(dev, both_families(), p, "seed"), chat_context(kTurns, both_families(), p, "seed")) << name;
  }
}

}  // namespace
}  // namespace prealign
