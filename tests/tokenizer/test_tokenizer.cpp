// Tag ids and lookups, decode, bad input, damaged and foreign models, training
// options and errors, and encoding speed.
#include <sentencepiece_trainer.h>

#include <chrono>
#include <cstdio>
#include <unordered_map>

#include "fixture.hpp"
#include "random_text.hpp"

namespace prealign {
namespace {

using testing::merged_tagset;
using testing::temp_dir;
using testing::trained;
using testing::trained_dir;

void expect_error(const std::function<void()>& f, const std::vector<std::string>& needles) {
  try {
    f();
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const std::string& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
    return;
  }
  ADD_FAILURE() << "expected an Error";
}

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

std::vector<std::string> prose_lines(size_t docs, uint64_t seed) {
  std::vector<std::string> out;
  for (const std::string& d : testing::synthetic_prose(docs, seed)) {
    size_t start = 0;
    for (size_t i = 0; i <= d.size(); ++i)
      if (i == d.size() || d[i] == '\n') {
        if (i > start) out.push_back(d.substr(start, i - start));
        start = i + 1;
      }
  }
  return out;
}

// A model trained by SentencePiece directly, with prealign's settings unless
// `overrides` changes them: what someone might hand us as a "tokenizer.model".
std::string foreign_model(const std::unordered_map<std::string, std::string>& overrides,
                          std::vector<std::string> lines = prose_lines(200, 5)) {
  std::unordered_map<std::string, std::string> kw = {{"model_type", "bpe"},
                                                     {"vocab_size", "400"},
                                                     {"control_symbols", "<|good|>,<|bad|>"},
                                                     {"byte_fallback", "true"},
                                                     {"normalization_rule_name", "identity"},
                                                     {"add_dummy_prefix", "false"},
                                                     {"remove_extra_whitespaces", "false"},
                                                     {"unk_id", "0"},
                                                     {"bos_id", "1"},
                                                     {"eos_id", "2"},
                                                     {"pad_id", "3"},
                                                     {"minloglevel", "2"},
                                                     {"hard_vocab_limit", "false"}};
  for (const auto& [k, v] : overrides) {
    kw[k] = v;
    if (v.empty()) kw.erase(k);
  }
  Lines it(std::move(lines));
  std::string out;
  const auto status = sentencepiece::SentencePieceTrainer::Train(kw, &it, &out);
  EXPECT_TRUE(status.ok()) << status.message();
  return out;
}

Tagset good_bad() { return Tagset::load(testing::source_path("configs/tagsets/good_bad.json")); }

class Trained : public ::testing::TestWithParam<std::string> {
 protected:
  const Tokenizer& tok() { return trained(GetParam()); }
};

TEST_P(Trained, TagIdsFollowSpecialsInTagsetOrder) {
  const Tagset tags = merged_tagset();
  ASSERT_EQ(tok().tag_ids().size(), tags.size());
  for (size_t i = 0; i < tags.size(); ++i) {
    const std::string& name = tags.tags()[i].name;
    EXPECT_EQ(tok().tag_ids()[i], 4 + static_cast<int>(i));
    EXPECT_EQ(tok().tag_id(name), 4 + static_cast<int>(i));
    EXPECT_EQ(tok().tag_name(4 + static_cast<int>(i)), name);
    EXPECT_EQ(tok().piece(4 + static_cast<int>(i)), name);
  }
  for (int id = 0; id < tok().vocab_size(); ++id) {
    EXPECT_EQ(tok().is_tag(id), id >= 4 && id < 4 + static_cast<int>(tags.size())) << id;
    EXPECT_EQ(tok().is_special(id), id < 4) << id;
  }
  EXPECT_FALSE(tok().is_tag(-1));
  EXPECT_FALSE(tok().is_tag(tok().vocab_size()));
  EXPECT_EQ(tok().vocab_size(), 1000);
}

TEST_P(Trained, UnknownTagNamesAreErrors) {
  expect_error([&] { tok().tag_id("<|ugly|>"); }, {"<|ugly|>", "<|good|>"});
  expect_error([&] { tok().tag_id("<|BAD|>"); }, {"<|BAD|>"});
  expect_error([&] { tok().tag_id("<AI"); }, {"<AI"});
  expect_error([&] { tok().tag_name(Tokenizer::kEos); }, {"not a tag"});
  expect_error([&] { tok().tag_name(20); }, {"not a tag"});
}

TEST_P(Trained, DecodeDropsOrShowsTags) {
  std::vector<int> ids = {Tokenizer::kBos, tok().tag_id("<AI>")};
  const std::vector<int> text = tok().encode("hi there");
  ids.insert(ids.end(), text.begin(), text.end());
  ids.push_back(tok().tag_id("</AI>"));
  ids.push_back(Tokenizer::kEos);
  EXPECT_EQ(tok().decode(ids), "hi there");
  EXPECT_EQ(tok().decode(ids, true), "<AI>hi there</AI>");
  for (int id : {Tokenizer::kUnk, Tokenizer::kBos, Tokenizer::kEos, Tokenizer::kPad, tok().tag_id("<|bad|>")})
    EXPECT_EQ(tok().token_bytes(id), "");
  EXPECT_EQ(tok().token_bytes(tok().encode("\n").at(0)), "\n");
}

TEST_P(Trained, OutOfRangeIdsAreErrors) {
  const int v = tok().vocab_size();
  expect_error([&] { tok().decode({5, v}); }, {std::to_string(v), "outside the vocabulary"});
  expect_error([&] { tok().decode({-1}); }, {"-1"});
  expect_error([&] { tok().token_bytes(v); }, {"outside"});
  expect_error([&] { tok().piece(-3); }, {"outside"});
}

TEST_P(Trained, InvalidUtf8IsErrorWithOffset) {
  const std::vector<std::pair<std::string, size_t>> cases = {
      {"ab\xC3(", 2},                // bad continuation
      {"\xC0\xAF", 0},               // overlong '/'
      {"ok\xED\xA0\x80", 2},         // surrogate U+D800
      {"abc\xE4\xB8", 3},            // truncated at the end
      {"\xF4\x90\x80\x80", 0},       // above U+10FFFF
      {"x\xFF", 1},                  // never valid
      {"\xE2\x96\x81\x80 tail", 3},  // stray continuation after U+2581
  };
  for (const auto& [text, offset] : cases)
    expect_error([&] { tok().encode(text); }, {"invalid UTF-8", "byte offset " + std::to_string(offset)});
}

TEST_P(Trained, ReloadsFromDirFileAndBytes) {
  const std::string dir = trained_dir(GetParam());
  Tokenizer from_file = Tokenizer::load(dir + "/tokenizer.model", merged_tagset());
  Tokenizer from_bytes = Tokenizer::from_serialized(read_file(dir + "/tokenizer.model"), merged_tagset(), "bytes");
  EXPECT_EQ(from_bytes.serialized_model(), read_file(dir + "/tokenizer.model"));
  Rng rng(5);
  for (int i = 0; i < 50; ++i) {
    const std::string s = testing::random_text(rng);
    EXPECT_EQ(from_file.encode(s), tok().encode(s));
    EXPECT_EQ(from_bytes.encode(s), tok().encode(s));
  }
  Tokenizer moved = std::move(from_file);
  EXPECT_EQ(moved.decode(moved.encode("moved ok")), "moved ok");
}

// A tagset given at load time may be a subset or reordered: ids come from the model.
TEST_P(Trained, LoadWithSubsetOrReorderedTagset) {
  const std::string model = trained_dir(GetParam()) + "/tokenizer.model";
  Tokenizer gb = Tokenizer::load(model, good_bad());
  EXPECT_EQ(gb.tag_ids(), (std::vector<int>{4, 5}));
  EXPECT_FALSE(gb.is_tag(6));  // <AI> is a control piece of the model but not a tag of this tagset
  Tagset ai = Tagset::load(testing::source_path("configs/tagsets/ai_modes.json"));
  Tokenizer swapped = Tokenizer::load(model, Tagset::merge({ai, good_bad()}));
  EXPECT_EQ(swapped.tag_ids(), (std::vector<int>{6, 7, 8, 9, 4, 5}));
  EXPECT_EQ(swapped.tag_id("<|bad|>"), 5);
}

TEST_P(Trained, TagNotInModelIsError) {
  const std::string dir = temp_dir();
  const std::string model = trained_dir(GetParam()) + "/tokenizer.model";
  Tagset extra = Tagset::from_json(
      {{"name", "x"}, {"tags", json::array({{{"name", "<|good|>"}}, {{"name", "<|ugly|>"}}})}}, "x.json");
  expect_error([&] { Tokenizer::load(model, extra); }, {model, "<|ugly|>", "not a control symbol"});
}

TEST(TokenizerFiles, MissingFilesAreErrors) {
  const std::string dir = temp_dir();
  expect_error([&] { Tokenizer::load(dir + "/nope.model", good_bad()); }, {"nope.model"});
  expect_error([&] { Tokenizer::load(dir, good_bad()); }, {dir, "directory"});
  expect_error([&] { Tokenizer::load_dir(dir); }, {"tagset.json"});
  write_json_file(dir + "/tagset.json", good_bad().to_json());
  expect_error([&] { Tokenizer::load_dir(dir); }, {"tokenizer.model"});
}

// Damaged model bytes: an Error, or (when the damage happens to leave a valid
// model) a tokenizer that still keeps every promise. Never a crash.
TEST(TokenizerFiles, CorruptModelIsErrorNotCrash) {
  const std::string good = read_file(trained_dir("bpe") + "/tokenizer.model");
  const Tagset tags = merged_tagset();
  for (const std::string& junk : {std::string(), std::string("not a model"), std::string(64, '\0'),
                                  good.substr(0, good.size() / 2), good.substr(0, 100), good.substr(good.size() / 3)})
    expect_error([&] { Tokenizer::from_serialized(junk, tags, "junk.model"); }, {"junk.model"});
  Rng rng(9);
  int errors = 0, loaded = 0;
  for (int i = 0; i < 300; ++i) {
    std::string bad = good;
    for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k) bad[rng() % bad.size()] = static_cast<char>(rng());
    try {
      Tokenizer t = Tokenizer::from_serialized(bad, tags, "flipped.model");
      const std::string s = testing::random_text(rng) + "<AI> x";
      const std::vector<int> ids = t.encode(s);
      for (int id : ids) ASSERT_FALSE(t.is_tag(id) || t.is_special(id));
      EXPECT_EQ(t.decode(ids), s);
      ++loaded;
    } catch (const Error&) {
      ++errors;
    }
  }
  EXPECT_EQ(errors + loaded, 300);
  std::printf("[ info ] 300 damaged models: %d refused, %d still valid\n", errors, loaded);
}

// Models trained outside prealign with settings that break our promises are refused.
TEST(TokenizerFiles, RefusesForeignModels) {
  auto refused = [](const std::unordered_map<std::string, std::string>& overrides, const std::string& name,
                    std::vector<std::string> needles) {
    const std::string model = foreign_model(overrides);
    needles.push_back(name);
    expect_error([&] { Tokenizer::from_serialized(model, good_bad(), name); }, needles);
  };
  refused({{"control_symbols", ""}, {"user_defined_symbols", "<|good|>,<|bad|>"}}, "ud.model",
          {"<|good|>", "not a control symbol"});
  refused({{"normalization_rule_name", "nmt_nfkc"}, {"add_dummy_prefix", "true"}, {"remove_extra_whitespaces", "true"}},
          "nfkc.model", {"does not reproduce"});
  refused({{"byte_fallback", "false"}}, "nobytes.model", {"byte-fallback"});
  refused({{"bos_id", "3"}, {"pad_id", "1"}}, "ids.model", {"<s> 3", "ids 0, 1, 2"});
  // The same settings as ours load fine.
  Tokenizer ok = Tokenizer::from_serialized(foreign_model({}), good_bad(), "ok.model");
  EXPECT_EQ(ok.tag_ids(), (std::vector<int>{4, 5}));
}

// Without a "▁" piece SentencePiece byte-encodes a space as U+2581's bytes,
// which would decode as a literal U+2581; encode() writes the space's byte instead.
TEST(TokenizerFiles, SpaceWithoutPieceStillRoundTrips) {
  std::vector<std::string> lines;
  for (std::string l : prose_lines(100, 3)) {
    l.erase(std::remove(l.begin(), l.end(), ' '), l.end());
    lines.push_back(l);
  }
  Tokenizer t = Tokenizer::from_serialized(foreign_model({}, lines), good_bad(), "nospace.model");
  for (int id = 0; id < t.vocab_size(); ++id) ASSERT_EQ(t.piece(id).find("\xE2\x96\x81"), std::string::npos) << id;
  const std::string s = " two  words \xE2\x96\x81 ";
  const std::vector<int> ids = t.encode(s);
  EXPECT_EQ(t.decode(ids), s);
  int space_bytes = 0;
  for (int id : ids) space_bytes += t.token_bytes(id) == " ";
  EXPECT_EQ(space_bytes, 5);
}

// Training from documents: errors before anything is written, long lines skipped,
// the same seed gives the same model.
class Training : public ::testing::Test {
 protected:
  static std::function<bool(std::string&)> feed(const std::vector<std::string>& docs) {
    auto next = std::make_shared<size_t>(0);
    return [docs, next](std::string& out) {
      if (*next >= docs.size()) return false;
      out = docs[(*next)++];
      return true;
    };
  }
  TokenizerTrainOptions small() {
    TokenizerTrainOptions o;
    o.vocab_size = 400;
    o.threads = 1;
    return o;
  }
};

TEST_F(Training, OptionAndInputErrors) {
  const std::string dir = temp_dir();
  const std::string path = dir + "/tokenizer.model";
  const auto docs = testing::synthetic_prose(50, 1);
  TokenizerTrainOptions o = small();
  o.vocab_size = 270;
  expect_error([&] { Tokenizer::train(feed(docs), good_bad(), o, path); }, {"--vocab-size", "270"});
  o = small();
  o.model_type = "word";
  expect_error([&] { Tokenizer::train(feed(docs), good_bad(), o, path); }, {"--model-type", "word"});
  o = small();
  o.character_coverage = 0.5;
  expect_error([&] { Tokenizer::train(feed(docs), good_bad(), o, path); }, {"--character-coverage"});
  expect_error([&] { Tokenizer::train(feed({}), good_bad(), small(), path); }, {"no training text"});
  expect_error(
      [&] {
        Tokenizer::train(feed({"\n\n", std::string(5000, 'x')}), good_bad(), small(), path);
      },
      {"no training text"});
  expect_error(
      [&] {
        Tokenizer::train(feed({"fine", "bad \xC3"}), good_bad(), small(), path);
      },
      {"training document 2", "invalid UTF-8", "byte 4"});
  o = small();
  o.vocab_size = 100000;  // far more than this text holds (unigram refuses)
  o.model_type = "unigram";
  expect_error([&] { Tokenizer::train(feed(docs), good_bad(), o, path); }, {path, "SentencePiece"});
  EXPECT_FALSE(file_exists(path));
  EXPECT_TRUE(list_files(dir).empty()) << "a failed training left files behind";
}

TEST_F(Training, SkipsLongLinesAndIsDeterministic) {
  const std::string dir = temp_dir();
  auto docs = testing::synthetic_prose(400, 4);
  // One 12 kB line of a character found nowhere else: skipped, so it gets no piece.
  std::string omega;
  for (int i = 0; i < 6000; ++i) omega += "\xCE\xA9";
  docs.push_back("short line\n" + omega + "\nanother short line\n");
  for (const char* type : {"bpe", "unigram"}) {
    TokenizerTrainOptions o = small();
    o.vocab_size = 350;
    o.model_type = type;
    Tokenizer::train(feed(docs), good_bad(), o, dir + "/a.model");
    Tokenizer::train(feed(docs), good_bad(), o, dir + "/b.model");
    EXPECT_EQ(read_file(dir + "/a.model"), read_file(dir + "/b.model")) << type;
    Tokenizer t = Tokenizer::load(dir + "/a.model", good_bad());
    EXPECT_EQ(t.encode("\xCE\xA9").size(), 2u) << type << ": the long line was used for training";
    EXPECT_EQ(t.tag_ids(), (std::vector<int>{4, 5}));
  }
}

// Tiny or degenerate text: an Error or a working tokenizer, never a crash.
// SentencePiece's trainer ends the process on some of these (a required space
// that never occurs, a unigram seed vocabulary that comes out empty).
TEST_F(Training, DegenerateTextIsErrorNotCrash) {
  const std::string dir = temp_dir();
  const std::vector<std::vector<std::string>> corpora = {
      {"ok"},       {"1234567890"},         {"<|good|><|bad|>"}, {"\t\t\t"},
      {"\r\n\r\n"}, {std::string(40, 'a')}, {"\xE4\xB8\xAD"},    {"\xE2\x96\x85\xE2\x96\x81"},
      {"a b"}};
  int trained = 0, refused = 0;
  for (const auto& docs : corpora)
    for (const char* type : {"bpe", "unigram"}) {
      TokenizerTrainOptions o = small();
      o.model_type = type;
      o.vocab_size = 300;
      try {
        Tokenizer::train(feed(docs), good_bad(), o, dir + "/d.model");
        Tokenizer t = Tokenizer::load(dir + "/d.model", good_bad());
        const std::string probe = "probe " + docs[0] + " <|bad|>";
        EXPECT_EQ(t.decode(t.encode(probe)), probe);
        ++trained;
      } catch (const Error& e) {
        ++refused;
      }
    }
  EXPECT_EQ(trained + refused, 18);
  std::printf("[ info ] degenerate corpora: %d trained, %d refused with an Error\n", trained, refused);
}

// A vocabulary the text cannot fill is an Error that says how far to go; the
// sample size decides how much text there is.
TEST_F(Training, SampleSizeLimitsTrainingLines) {
  const std::string dir = temp_dir();
  const auto docs = testing::synthetic_prose(300, 6);
  TokenizerTrainOptions o = small();
  o.max_sentences = 100000;
  Tokenizer::train(feed(docs), good_bad(), o, dir + "/all.model");
  o.max_sentences = 2;  // too few lines for 400 pieces
  expect_error([&] { Tokenizer::train(feed(docs), good_bad(), o, dir + "/few.model"); },
               {"few.model", "Vocabulary size too high", "<="});
  EXPECT_FALSE(file_exists(dir + "/few.model"));
}

// Speed of corpus tokenization on held-out Python source (reported, not
// asserted): once with a cold word cache (a fresh tokenizer), then warm.
TEST_P(Trained, EncodeSpeed) {
  std::vector<std::string> files;
  size_t bytes = 0;
  for (const std::string& f : testing::python_files(true)) {
    files.push_back(read_file(f));
    bytes += files.back().size();
  }
  ASSERT_FALSE(files.empty());
  Tokenizer fresh = Tokenizer::load_dir(trained_dir(GetParam()));
  size_t tokens = 0;
  auto pass = [&] {
    const auto t0 = std::chrono::steady_clock::now();
    for (const std::string& text : files) tokens += fresh.encode(text).size();
    return bytes / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 1e6;
  };
  const double cold = pass(), warm = pass();
  std::printf("[ info ] %s encode: %.1f MB/s cold cache, %.1f MB/s warm, %.2f bytes/token on %zu kB of Python\n",
              GetParam().c_str(), cold, warm, 2.0 * bytes / tokens, bytes / 1000);
  RecordProperty("encode_mb_per_s_cold", std::to_string(cold));
  EXPECT_GT(tokens, 0u);
}

INSTANTIATE_TEST_SUITE_P(Models, Trained, ::testing::Values("bpe", "unigram"));

}  // namespace
}  // namespace prealign
