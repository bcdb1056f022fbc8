// Tokenizers prealign did not train, shaped like a Hugging Face Llama
// tokenizer.model: <unk>, <s>, </s> at 0..2, no <pad>, add_dummy_prefix on.
// encode_start() must give exactly SentencePiece's own ids for a whole text (what
// the model saw in pretraining), decode_start() SentencePiece's own text, and
// neither may change anything for prealign's own tokenizers.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <unordered_map>

#include "fixture.hpp"
#include "random_text.hpp"

namespace prealign {
namespace {

class Lines : public sentencepiece::SentenceIterator {
 public:
  explicit Lines(std::vector<std::string> l) : lines_(std::move(l)) {}
  bool done() const override { return i_ >= lines_.size(); }
  void Next() override { ++i_; }
  const std::string& value() const override { return lines_[i_]; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  std::vector<std::string> lines_;
  size_t i_ = 0;
};

// Llama's trainer settings (its tokenizer.model's trainer_spec and normalizer_spec),
// smaller; the tags are control symbols here, as import makes them.
std::string llama_style_model(const std::string& model_type) {
  std::vector<std::string> lines;
  for (const std::string& d : testing::training_documents()) {
    size_t start = 0;
    for (size_t i = 0; i <= d.size(); ++i)
      if (i == d.size() || d[i] == '\n') {
        if (i > start && i - start < 2000) lines.push_back(d.substr(start, i - start));
        start = i + 1;
      }
  }
  std::unordered_map<std::string, std::string> kw = {{"model_type", model_type},
                                                     {"vocab_size", "700"},
                                                     {"control_symbols", "<|good|>,<|bad|>"},
                                                     {"byte_fallback", "true"},
                                                     {"normalization_rule_name", "identity"},
                                                     {"add_dummy_prefix", "true"},
                                                     {"remove_extra_whitespaces", "false"},
                                                     {"split_digits", "true"},
                                                     {"allow_whitespace_only_pieces", "true"},
                                                     {"unk_id", "0"},
                                                     {"bos_id", "1"},
                                                     {"eos_id", "2"},
                                                     {"pad_id", "-1"},
                                                     {"minloglevel", "2"}};
  Lines it(std::move(lines));
  std::string out;
  const auto status = sentencepiece::SentencePieceTrainer::Train(kw, &it, &out);
  EXPECT_TRUE(status.ok()) << status.message();
  return out;
}

Tagset good_bad() { return Tagset::load(testing::source_path("configs/tagsets/good_bad.json")); }

// Texts without U+2581 or NUL: prealign encodes those as bytes on purpose, so
// that they round-trip; SentencePiece reads a literal U+2581 as a space.
std::vector<std::string> texts() {
  std::vector<std::string> out = {"Hello world",
                                  "Hello",
                                  " leading space",
                                  "  two leading spaces",
                                  "trailing space ",
                                  "\nstarts with a newline",
                                  "line one\nline two\n",
                                  "x\ty\t\t\tz\r\nCR\rLF\n\n    indented",
                                  "def parse(path):\n    return open(path).read()  # 12345",
                                  "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80 \xEF\xAC\x81",
                                  "the <|good|> tag typed as text",
                                  " ",
                                  "   ",
                                  "a"};
  Rng rng(11);
  while (out.size() < 300) {
    std::string s = testing::random_text(rng);
    if (s.find("\xE2\x96\x81") != std::string::npos || s.find('\0') != std::string::npos || s.empty()) continue;
    out.push_back(s);
  }
  return out;
}

class LlamaStyle : public ::testing::TestWithParam<std::string> {};

TEST_P(LlamaStyle, EncodeStartIsSentencePiecesOwnEncodingAndDecodeStartItsText) {
  const std::string model = llama_style_model(GetParam());
  const Tokenizer tok = Tokenizer::from_serialized(model, good_bad(), "llama.model");
  sentencepiece::SentencePieceProcessor sp;
  ASSERT_TRUE(sp.LoadFromSerializedProto(model).ok());

  EXPECT_TRUE(tok.add_dummy_prefix());
  EXPECT_EQ(tok.pad_id(), -1);
  EXPECT_EQ(tok.tag_ids(), (std::vector<int>{3, 4}));  // no <pad>: the first control symbol takes id 3
  EXPECT_FALSE(tok.is_special(3));
  EXPECT_TRUE(tok.is_special(Tokenizer::kUnk) && tok.is_special(Tokenizer::kBos) && tok.is_special(Tokenizer::kEos));
  EXPECT_EQ(tok.serialized_model(), model);  // stored as given, add_dummy_prefix and all

  // Unigram: prealign encodes word by word, and SentencePiece's lattice breaks
  // ties between equal-scoring segmentations of long whitespace runs differently
  // in context (test_long_runs.cpp compares BPE only for the same reason); the
  // hand-written texts are compared for both, the random ones for BPE.
  const size_t exact = GetParam() == "bpe" ? texts().size() : 14;
  int compared = 0;
  for (const std::string& s : texts()) {
    std::vector<int> want;
    ASSERT_TRUE(sp.Encode(s, &want).ok());
    const std::vector<int> got = tok.encode_start(s);
    if (size_t(compared) < exact) {
      ASSERT_EQ(got, want) << json(s).dump();
      std::string sp_text;
      ASSERT_TRUE(sp.Decode(want, &sp_text).ok());
      EXPECT_EQ(tok.decode_start(got), sp_text) << json(s).dump();
    }
    EXPECT_EQ(tok.decode_start(got), s) << json(s).dump();
    // encode() stays prefix-free: pieces that concatenate to the text itself.
    EXPECT_EQ(tok.decode(tok.encode(s)), s) << json(s).dump();
    for (int id : got) ASSERT_FALSE(tok.is_tag(id) || tok.is_special(id)) << json(s).dump();
    ++compared;
  }
  EXPECT_EQ(compared, 300);
  // The prefix is one space before the start: " Hello" is "▁Hello" after it, not "Hello".
  EXPECT_EQ(tok.decode(tok.encode_start("Hello")), " Hello");
  EXPECT_EQ(tok.encode_start(""), std::vector<int>{});
  // Tags and specials before the first text do not move the stripped space.
  std::vector<int> ids = {Tokenizer::kBos, tok.tag_id("<|good|>")};
  for (int id : tok.encode_start("Hi there")) ids.push_back(id);
  EXPECT_EQ(tok.decode_start(ids), "Hi there");
  EXPECT_EQ(tok.decode_start(ids, true), "<|good|>Hi there");
}

INSTANTIATE_TEST_SUITE_P(Models, LlamaStyle, ::testing::Values("bpe", "unigram"));

TEST(LlamaStyle, PrealignTokenizersAreUnchanged) {
  const Tokenizer& tok = testing::trained("bpe");
  EXPECT_FALSE(tok.add_dummy_prefix());
  EXPECT_EQ(tok.pad_id(), Tokenizer::kPad);
  for (const std::string& s : texts()) {
    EXPECT_EQ(tok.encode_start(s), tok.encode(s));
    const std::vector<int> ids = tok.encode(s);
    EXPECT_EQ(tok.decode_start(ids), tok.decode(ids));
  }
}

}  // namespace
}  // namespace prealign
