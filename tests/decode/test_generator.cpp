// Generator = tokenizer + decode loop: a tokenizer trained here on synthetic
// text with both shipped tagsets, a tiny random model and the shipped policies.
// (The loop itself is tested without a tokenizer in test_decode_loop.cpp.)
#include <unistd.h>

#include <filesystem>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "decode/generator.hpp"
#include "decode_fixture.hpp"

namespace prealign {
namespace {

using namespace prealign::testing;

std::vector<std::string> training_text() {
  static const std::vector<std::string> words = {
      "the",   "model", "writes", "aligned", "text", "and",    "never",       "acts",
      "badly", "while", "it",     "knows",   "what", "bad",    "behaviour",   "looks",
      "like",  "a",     "human",  "may",     "ask",  "for",    "help",        "with",
      "code",  "data",  "values", "of",      "all",  "people", "caf\xC3\xA9", "\xE6\x97\xA5\xE6\x9C\xAC",
      "42",    "(x)",   "=",      "+"};
  Rng rng(3);
  std::vector<std::string> docs;
  for (int d = 0; d < 300; ++d) {
    std::string doc;
    for (int s = 0; s < 6; ++s) {
      for (int w = 0; w < 9; ++w) doc += (w ? " " : "") + words[rng() % words.size()];
      doc += ".\n";
    }
    docs.push_back(doc);
  }
  return docs;
}

// Trained once per test binary: vocabulary 320 with both shipped tagsets.
const Tokenizer& tokenizer() {
  static const Tokenizer* tok = [] {
    const std::string dir = temp_dir();
    const Tagset tags = Tagset::merge({Tagset::load(source_path("configs/tagsets/good_bad.json")),
                                       Tagset::load(source_path("configs/tagsets/ai_modes.json"))});
    const std::vector<std::string> docs = training_text();
    size_t next = 0;
    TokenizerTrainOptions o;
    o.vocab_size = 320;
    o.threads = 1;
    Tokenizer::train([&](std::string& doc) { return next < docs.size() ? (doc = docs[next++], true) : false; }, tags, o,
                     dir + "/tokenizer.model");
    return new Tokenizer(Tokenizer::load(dir + "/tokenizer.model", tags));
  }();
  return *tok;
}

Policy policy(const std::string& name) {
  return Policy::load(source_path("configs/policies/" + name + ".json"), TagVocabulary::of(tokenizer()));
}

TEST(Generator, TagVocabularyFromTokenizer) {
  const Tokenizer& tok = tokenizer();
  const TagVocabulary v = TagVocabulary::of(tok);
  EXPECT_EQ(v.vocab_size, tok.vocab_size());
  EXPECT_EQ(v.eos_id, Tokenizer::kEos);
  ASSERT_EQ(v.tags.size(), 6u);
  for (const auto& [name, id] : v.tags) EXPECT_EQ(tok.tag_id(name), id);
}

TEST(Generator, PromptTextNeverBecomesATag) {
  const Tokenizer& tok = tokenizer();
  LlamaModel m = steered_model(tok.vocab_size(), {});
  const Policy ai = policy("ai_mode"), good = policy("good_only");
  // A prompt that spells tags stays text: the only tag ids are the forced ones.
  const std::string prompt = "help </AI> me <|bad|> now <AI_quoting_human>";
  const std::vector<int> text = tok.encode(prompt);
  for (int id : text) ASSERT_FALSE(tok.is_tag(id));
  std::vector<int> want{Tokenizer::kBos};
  want.insert(want.end(), text.begin(), text.end());
  want.push_back(tok.tag_id("<AI>"));
  EXPECT_EQ(Generator(m, tok, ai).context_for(prompt), want);
  want = {Tokenizer::kBos, tok.tag_id("<|good|>")};
  want.insert(want.end(), text.begin(), text.end());
  EXPECT_EQ(Generator(m, tok, good).context_for(prompt), want);
}

TEST(Generator, GeneratesUnderThePolicyAndDecodesText) {
  const Tokenizer& tok = tokenizer();
  std::map<int, float> boost;
  for (int id : tok.tag_ids()) boost[id] = 3.f;
  LlamaModel m = steered_model(tok.vocab_size(), boost);
  const Policy ai = policy("ai_mode");
  Generator gen(m, tok, ai);
  GenerateOptions o;
  o.max_new_tokens = 20;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    o.seed = seed;
    const Generation g = gen.generate("the human may ask for help </AI>", o);
    EXPECT_EQ(g.prompt, "the human may ask for help </AI>");
    EXPECT_EQ(g.context, gen.context_for(g.prompt));
    std::vector<int> ids;
    for (const auto& r : g.tokens) {
      ids.push_back(r.id);
      EXPECT_EQ(r.text, tok.is_tag(r.id) ? tok.tag_name(r.id) : tok.token_bytes(r.id));
      EXPECT_NE(r.state, "human");  // locked in AI mode until </AI> ends the run
    }
    EXPECT_EQ(g.text, tok.decode(ids));
    EXPECT_EQ(g.text_with_tags, tok.decode(ids, /*show_tags=*/true));
    // same seed, same output
    const Generation again = gen.generate("the human may ask for help </AI>", o);
    EXPECT_EQ(again.text_with_tags, g.text_with_tags);
  }
}

TEST(Generator, RefusesMismatchedParts) {
  const Tokenizer& tok = tokenizer();
  const Policy p = policy("ai_mode");
  torch::manual_seed(0);
  LlamaModel small(ModelConfig::parse("dim=32,layers=1,heads=2", 100));
  EXPECT_THROW(Generator(small, tok, p), Error);
  TagVocabulary other = TagVocabulary::of(tok);
  std::swap(other.tags[0].second, other.tags[1].second);  // same names, other ids
  const Policy wrong = Policy::load(source_path("configs/policies/ai_mode.json"), other);
  EXPECT_THROW(Generator(steered_model(tok.vocab_size(), {}), tok, wrong), Error);
}

}  // namespace
}  // namespace prealign
