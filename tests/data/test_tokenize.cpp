// tokenize_corpus end to end with a small trained tokenizer: every document's
// tokens decode to its text, segments stay aligned with their scores, and the
// validation split is by document id and stable when documents are added.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/json_io.hpp"
#include "core/lines.hpp"
#include "core/rng.hpp"
#include "data/dataset_merge.hpp"
#include "data/shard.hpp"
#include "data/tokenize.hpp"
#include "test_util.hpp"
#include "tokenizer/tokenizer.hpp"

using namespace prealign;
namespace fs = std::filesystem;

namespace {

Tagset test_tagset() {
  json tags = json::array({
      {{"name", "<|good|>"}, {"category", "alignment"}, {"kind", "marker"}},
      {{"name", "<|bad|>"}, {"category", "alignment"}, {"kind", "marker"}},
      {{"name", "<AI>"}, {"category", "mode"}, {"kind", "open"}, {"pair", "</AI>"}},
      {{"name", "</AI>"}, {"category", "mode"}, {"kind", "close"}, {"pair", "<AI>"}},
  });
  return Tagset::from_json({{"name", "test"}, {"tags", tags}}, "test tagset");
}

std::vector<std::string> python_sources() {
  std::vector<std::string> out;
  const std::string root = "/usr/lib/python3.11/json";
  if (fs::is_directory(root))
    for (const auto& f : list_files(root, "*.py")) out.push_back(f);
  return out;
}

// One tokenizer for the whole binary: training is the slow part.
class TokenizeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const char* base = std::getenv("PREALIGN_TEST_TMP");
    dir_ = new std::string(std::string(base ? base : "/tmp/prealign-tests") + "/TokenizeTest.tokenizer");
    fs::create_directories(*dir_);
    std::vector<std::string> texts;
    for (const auto& f : python_sources()) texts.push_back(read_text_file(f));
    texts.push_back("The assistant said: caf\xC3\xA9, na\xC3\xAFve, \xE4\xB8\xAD\xE6\x96\x87, \xF0\x9F\x98\x80.\n");
    size_t i = 0;
    TokenizerTrainOptions o;
    o.vocab_size = 600;
    Tokenizer::train([&](std::string& doc) { return i < texts.size() ? (doc = texts[i++], true) : false; },
                     test_tagset(), o, *dir_ + "/tokenizer.model");
    tok_ = new Tokenizer(Tokenizer::load(*dir_ + "/tokenizer.model", test_tagset()));
  }
  static void TearDownTestSuite() {
    delete tok_;
    delete dir_;
  }
  static std::string* dir_;
  static Tokenizer* tok_;
};
std::string* TokenizeTest::dir_ = nullptr;
Tokenizer* TokenizeTest::tok_ = nullptr;

struct Written {
  std::string text;
  std::vector<std::pair<uint64_t, uint64_t>> segments;
  std::vector<float> scores;  // pep8, pii per segment
  bool tagged = false;
};

// Scored JSONL: each Python file split into line segments with made-up scores,
// plus prose with multi-byte characters and a tagged document.
std::map<std::string, Written> write_corpus(const std::string& path, int copies) {
  std::map<std::string, Written> docs;
  std::mt19937 rng(9);
  std::string out;
  auto files = python_sources();
  for (int c = 0; c < copies; ++c)
    for (const auto& f : files) {
      Written w;
      w.text = read_text_file(f);
      json segs = json::array();
      for (size_t b = 0; b < w.text.size();) {
        size_t e = w.text.find('\n', b);
        e = e == std::string::npos ? w.text.size() : e + 1;
        float pep8 = float(rng() % 100) / 100.f, pii = float(rng() % 3);
        segs.push_back({{"start", b}, {"end", e}, {"scores", {{"pii", pii}, {"pep8", pep8}}}});
        w.segments.push_back({b, e});
        w.scores.insert(w.scores.end(), {pep8, pii});
        b = e;
      }
      std::string id = f + "#" + std::to_string(c);
      out += json({{"id", id}, {"text", w.text}, {"segments", segs}, {"repo", "cpython"}}).dump() + "\n";
      docs[id] = w;
    }
  Written prose;
  prose.text = "Caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x98\x80 and a literal </AI> in untrusted text.\n";
  prose.segments = {{0, 6}, {6, prose.text.size()}};
  prose.scores = {0.f, 0.f, 0.5f, 1.f};
  out += json({{"id", "prose"}, {"text", prose.text},
               {"segments", {{{"start", 0}, {"end", 6}, {"scores", {{"pep8", 0}, {"pii", 0}}}},
                             {{"start", 6}, {"end", prose.text.size()}, {"scores", {{"pep8", 0.5}, {"pii", 1}}}}}}})
             .dump() +
         "\n";
  docs["prose"] = prose;
  Written tagged;
  tagged.text = "<AI>I help.</AI> User: <|bad|>rude words";
  tagged.tagged = true;
  tagged.segments = {{0, 13}, {13, tagged.text.size()}};  // the first cut falls inside "</AI>"
  tagged.scores = {0.f, 0.f, 1.f, 0.f};
  out += json({{"id", "tagged"}, {"text", tagged.text}, {"tagged", true},
               {"segments", {{{"start", 0}, {"end", 13}, {"scores", {{"pep8", 0}, {"pii", 0}}}},
                             {{"start", 13}, {"end", tagged.text.size()}, {"scores", {{"pep8", 1}, {"pii", 0}}}}}}})
             .dump() +
         "\n";
  docs["tagged"] = tagged;
  write_file_atomic(path, out);
  return docs;
}

uint64_t fnv(const std::string& s) {
  uint64_t h = 14695981039346656037ULL;  // FNV-1a 64 offset basis
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

std::vector<int> doc_tokens(const Shard& sh, uint64_t d) {
  std::vector<int> ids;
  for (uint64_t t = sh.doc_token_begin(d); t < sh.doc_token_end(d); ++t) ids.push_back(sh.token(t));
  return ids;
}

}  // namespace

TEST_F(TokenizeTest, EveryDocumentDecodesToItsTextAndSegmentsKeepTheirScores) {
  if (python_sources().empty()) GTEST_SKIP() << "no /usr/lib/python3.11/json";
  std::string dir = prealign::testing::temp_dir();
  auto docs = write_corpus(dir + "/corpus.jsonl", 2);
  TokenizeOptions o;
  o.out = dir + "/ds";
  o.val_fraction = 0.3;
  o.seed = 77;
  o.shard_tokens = 3000;  // several shards per split
  TokenizeStats st = tokenize_corpus({dir + "/corpus.jsonl"}, *tok_, o);
  EXPECT_EQ(st.documents(), docs.size());
  EXPECT_EQ(st.categories, (std::vector<std::string>{"pep8", "pii"}));
  EXPECT_GT(st.train.shards, 1u);
  EXPECT_GT(st.val.documents, 0u);

  Dataset ds = Dataset::open(dir + "/ds");
  EXPECT_EQ(ds.train_tokens(), st.train.tokens);
  EXPECT_EQ(ds.val_tokens(), st.val.tokens);
  EXPECT_EQ(ds.manifest.at("tokenizer").at("model_hash"), tokenizer_model_hash(tok_->serialized_model()));
  size_t seen = 0;
  for (int split = 0; split < 2; ++split)
    for (const auto& sh : split ? ds.val : ds.train)
      for (uint64_t d = 0; d < sh->n_docs(); ++d) {
        std::string id = sh->doc_info(d).at("id");
        ASSERT_TRUE(docs.count(id)) << id;
        const Written& w = docs.at(id);
        ++seen;
        // split by document: recomputed here from the documented rule
        bool val = hash_unit(77, fnv(id)) < 0.3;
        EXPECT_EQ(split == 1, val) << id;
        EXPECT_EQ(tok_->decode(doc_tokens(*sh, d), /*show_tags=*/w.tagged), w.text) << id;
        ASSERT_EQ(sh->doc_segment_end(d) - sh->doc_segment_begin(d), w.segments.size()) << id;
        for (size_t s = 0; s < w.segments.size(); ++s) {
          uint64_t g = sh->doc_segment_begin(d) + s;
          EXPECT_EQ(sh->segment_scores(g)[0], w.scores[2 * s]);
          EXPECT_EQ(sh->segment_scores(g)[1], w.scores[2 * s + 1]);
          if (w.tagged) continue;
          std::vector<int> ids;
          for (uint64_t t = sh->segment_token_begin(g); t < sh->segment_token_end(g); ++t) ids.push_back(sh->token(t));
          auto [b, e] = w.segments[s];
          EXPECT_EQ(tok_->decode(ids), w.text.substr(b, e - b)) << id << " segment " << s;
        }
        // Untrusted "</AI>" stays text, and so does the markup of a record that says
        // "tagged": true by itself: only --tagged (TokenizeOptions::tagged) trusts markup.
        if (id == "prose" || id == "tagged") {
          for (int t : doc_tokens(*sh, d)) EXPECT_FALSE(tok_->is_tag(t)) << id;
        }
      }
  EXPECT_EQ(seen, docs.size());
  EXPECT_EQ(st.read.untrusted_tagged, 1u);
}

TEST_F(TokenizeTest, MarkupBecomesTagsOnlyUnderTheTaggedFlag) {
  std::string dir = prealign::testing::temp_dir();
  const std::string text = "<AI>I help.</AI> User: <|bad|>rude words";
  // The first segment ends inside "</AI>": a tag belongs to the segment it starts in.
  write_file_atomic(dir + "/corpus.jsonl",
                    json({{"id", "t"}, {"text", text},
                          {"segments", {{{"start", 0}, {"end", 13}, {"scores", {{"pep8", 0}}}},
                                        {{"start", 13}, {"end", text.size()}, {"scores", {{"pep8", 1}}}}}}})
                            .dump() + "\n");
  for (bool trusted : {false, true}) {
    TokenizeOptions o;
    o.out = dir + (trusted ? "/trusted" : "/untrusted");
    o.val_fraction = 0;
    o.tagged = trusted;
    TokenizeStats st = tokenize_corpus({dir + "/corpus.jsonl"}, *tok_, o);
    EXPECT_EQ(st.read.untrusted_tagged, 0u);
    Dataset ds = Dataset::open(o.out);
    ASSERT_EQ(ds.train.size(), 1u);
    const Shard& sh = *ds.train[0];
    ASSERT_EQ(sh.n_docs(), 1u);
    const std::vector<int> ids = doc_tokens(sh, 0);
    EXPECT_EQ(tok_->decode(ids, /*show_tags=*/true), text);
    int tags = 0;
    for (int t : ids) tags += tok_->is_tag(t);
    if (!trusted) {
      EXPECT_EQ(tags, 0);
      continue;
    }
    EXPECT_EQ(tags, 3);  // <AI>, </AI>, <|bad|>
    EXPECT_EQ(ids.front(), tok_->tag_id("<AI>"));
    const uint64_t s1 = sh.segment_token_begin(sh.doc_segment_begin(0) + 1) - sh.doc_token_begin(0);
    EXPECT_EQ(ids[s1 - 1], tok_->tag_id("</AI>"));  // the last token of segment 0
  }
}

TEST_F(TokenizeTest, AddingDocumentsDoesNotMoveOthersBetweenSplits) {
  if (python_sources().empty()) GTEST_SKIP() << "no /usr/lib/python3.11/json";
  std::string dir = prealign::testing::temp_dir();
  write_corpus(dir + "/a.jsonl", 1);
  write_corpus(dir + "/b.jsonl", 3);  // the same documents and more
  auto splits = [&](const std::string& input, const std::string& out) {
    TokenizeOptions o;
    o.out = out;
    o.val_fraction = 0.4;
    tokenize_corpus({input}, *tok_, o);
    std::map<std::string, bool> m;
    Dataset ds = Dataset::open(out);
    for (int split = 0; split < 2; ++split)
      for (const auto& sh : split ? ds.val : ds.train)
        for (uint64_t d = 0; d < sh->n_docs(); ++d) m[sh->doc_info(d).at("id")] = split == 1;
    return m;
  };
  auto small = splits(dir + "/a.jsonl", dir + "/ds-a");
  auto big = splits(dir + "/b.jsonl", dir + "/ds-b");
  ASSERT_GT(big.size(), small.size());
  for (const auto& [id, val] : small) EXPECT_EQ(big.at(id), val) << id;
}

TEST_F(TokenizeTest, CategoryRuleOutputDirectoryAndRerun) {
  std::string dir = prealign::testing::temp_dir();
  write_file_atomic(dir + "/mixed.jsonl",
                    R"({"id": "a", "text": "x = 1\n", "segments": [{"start": 0, "end": 6, "scores": {"pep8": 1}}]})"
                    "\n"
                    R"({"id": "b", "text": "y = 2\n"})"
                    "\n"
                    R"({"id": "c", "text": "z = 3\n", "segments": [{"start": 0, "end": 6, "scores": {"pep8": 0}}]})"
                    "\n");
  TokenizeOptions o;
  o.out = dir + "/ds";
  try {
    tokenize_corpus({dir + "/mixed.jsonl"}, *tok_, o);
    ADD_FAILURE() << "mixed categories must be an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), dir + "/mixed.jsonl:2");
  }
  EXPECT_FALSE(fs::exists(dir + "/ds")) << "a failed run publishes nothing";
  o.skip_bad = true;
  TokenizeStats st = tokenize_corpus({dir + "/mixed.jsonl"}, *tok_, o);
  EXPECT_EQ(st.documents(), 2u);
  EXPECT_EQ(st.read.skipped, 1u);
  EXPECT_EQ(st.read.documents, 2u);
  // a rerun with other data replaces the dataset as a whole
  o.shard_tokens = 1;
  st = tokenize_corpus({dir + "/mixed.jsonl"}, *tok_, o);
  Dataset ds = Dataset::open(dir + "/ds");
  EXPECT_EQ(ds.train.size() + ds.val.size(), 2u);
  // two shards, dataset.json and the tokenizer (tokenizer.model + tagset.json); no leftovers
  EXPECT_EQ(list_files(dir + "/ds").size(), 5u);
  EXPECT_EQ(Tokenizer::load_dir(dir + "/ds").serialized_model(), tok_->serialized_model());
  // a tokenizer that is not the one the shards were made with is refused
  std::string model = read_file(dir + "/ds/tokenizer.model");
  write_file_atomic(dir + "/ds/tokenizer.model", model + "x");
  EXPECT_THROW(Dataset::open(dir + "/ds"), Error);
  write_file_atomic(dir + "/ds/tokenizer.model", model);
  EXPECT_NO_THROW(Dataset::open(dir + "/ds"));
  // a directory holding other files is not replaced
  write_file_atomic(dir + "/ds/notes.txt", "mine");
  EXPECT_THROW(tokenize_corpus({dir + "/mixed.jsonl"}, *tok_, o), Error);
  EXPECT_TRUE(fs::exists(dir + "/ds/notes.txt"));
  for (const auto& e : fs::directory_iterator(dir))
    EXPECT_EQ(e.path().filename().string().find(".staging"), std::string::npos) << "staging left behind";
}

// `tokenizer train --exclude-val-fraction F --split-seed S` leaves out exactly
// the documents `tokenize --val-fraction F --seed S` holds out: each document
// repeats its own word, so a word is one piece iff its document was trained on.
TEST(TokenizerTrainSplit, HeldOutDocumentsNeverShapeTheVocabulary) {
  const std::string dir = prealign::testing::temp_dir();
  std::string corpus;
  std::vector<std::string> words;
  for (int i = 0; i < 40; ++i) {
    words.push_back(std::string("vw") + char('a' + i % 26) + char('a' + i / 26) + "kmrt");
    std::string text;
    for (int k = 0; k < 40; ++k) text += words.back() + "\n";
    corpus += json{{"id", "doc-" + std::to_string(i)}, {"text", text}}.dump() + "\n";
  }
  write_file_atomic(dir + "/c.jsonl", corpus);
  // 419: every merge of the 26 trained-on words fits (SentencePiece refuses a larger vocabulary here).
  int status = -1;
  const std::string out = prealign::testing::run_capture(
      std::string(PREALIGN_BINARY) + " tokenizer train '" + dir + "/c.jsonl' --tagset '" +
          prealign::testing::source_path("configs/tagsets/good_bad.json") + "' --vocab-size 419 -o '" + dir +
          "/tok/' --exclude-val-fraction 0.25 --split-seed 7 2>&1",
      &status);
  ASSERT_EQ(status, 0) << out;
  size_t held = 0;
  for (int i = 0; i < 40; ++i) held += is_validation_document("doc-" + std::to_string(i), 7, 0.25);
  ASSERT_GT(held, 3u);
  ASSERT_LT(held, 20u);
  EXPECT_NE(out.find("held out " + std::to_string(held) + " documents"), std::string::npos) << out;
  const Tokenizer tok = Tokenizer::load_dir(dir + "/tok");
  for (int i = 0; i < 40; ++i) {
    const size_t pieces = tok.encode(words[size_t(i)]).size();
    if (is_validation_document("doc-" + std::to_string(i), 7, 0.25))
      EXPECT_GT(pieces, 1u) << words[size_t(i)] << " was held out but is one piece";
    else
      EXPECT_EQ(pieces, 1u) << words[size_t(i)] << " was trained on";
  }
}

namespace {

// Document id -> (split, tokens) of every document of a dataset.
std::map<std::string, std::pair<std::string, std::vector<int>>> dataset_documents(const Dataset& ds) {
  std::map<std::string, std::pair<std::string, std::vector<int>>> out;
  for (const char* split : {"train", "val"})
    for (const auto& sh : std::string(split) == "train" ? ds.train : ds.val)
      for (uint64_t d = 0; d < sh->n_docs(); ++d)
        out[sh->doc_info(d).at("id").get<std::string>()] = {split, doc_tokens(*sh, d)};
  return out;
}

}  // namespace

// A job array: tokenize --shard i/3 three times, dataset merge, and the result
// holds exactly the documents, splits and tokens of tokenizing it all at once.
TEST_F(TokenizeTest, PartsOfAJobArrayMergeIntoTheWholeDataset) {
  if (python_sources().empty()) GTEST_SKIP() << "no /usr/lib/python3.11/json";
  const std::string dir = prealign::testing::temp_dir();
  write_corpus(dir + "/corpus.jsonl", 2);
  TokenizeOptions whole;
  whole.out = dir + "/whole";
  whole.val_fraction = 0.3;
  tokenize_corpus({dir + "/corpus.jsonl"}, *tok_, whole);
  std::vector<std::string> parts;
  for (int i = 0; i < 3; ++i) {
    TokenizeOptions part = whole;
    part.out = dir + "/part-" + std::to_string(i);
    part.shard = std::to_string(i) + "/3";
    tokenize_corpus({dir + "/corpus.jsonl"}, *tok_, part);
    parts.push_back(part.out);
  }
  MergeResult r = merge_datasets(parts, dir + "/merged");
  auto expected = dataset_documents(Dataset::open(whole.out));
  auto got = dataset_documents(Dataset::open(dir + "/merged"));
  EXPECT_EQ(got, expected);
  EXPECT_EQ(r.documents, expected.size());
  // No shard was copied: the merged directory holds only its manifest and tokenizer.
  for (const auto& f : list_files(dir + "/merged")) EXPECT_EQ(f.find(".bin"), std::string::npos) << f;

  // Missing or repeated parts, or parts split differently, are refused.
  EXPECT_THROW(merge_datasets({parts[0], parts[1]}, dir + "/two-of-three"), Error);
  EXPECT_THROW(merge_datasets({parts[0], parts[0], parts[1]}, dir + "/twice"), Error);
  TokenizeOptions other = whole;
  other.out = dir + "/other-seed";
  other.shard = "2/3";
  other.seed = 99;
  tokenize_corpus({dir + "/corpus.jsonl"}, *tok_, other);
  EXPECT_THROW(merge_datasets({parts[0], parts[1], other.out}, dir + "/mixed-seeds"), Error);
  EXPECT_FALSE(fs::exists(dir + "/mixed-seeds"));
  EXPECT_THROW(merge_datasets(parts, dir + "/merged"), Error);  // never over an existing directory
}

// A split that leaves later stages without data is named with what it breaks and
// the flag to change (a tiny corpus used to get "too few documents" and nothing more).
TEST(Tokenize, EmptySplitWarningsNameTheConsequenceAndTheFix) {
  TokenizeOptions o;
  o.val_fraction = 0.05;
  o.seed = 7;
  TokenizeStats s;
  s.train.documents = 12;
  s.val.documents = 3;
  EXPECT_TRUE(split_warnings(s, o).empty());

  s.val.documents = 0;
  std::vector<std::string> w = split_warnings(s, o);
  ASSERT_EQ(w.size(), 1u);
  for (const char* part : {"validation split is empty", "12 documents", "--val-fraction 0.05 --seed 7", "held-out loss",
                           "raise --val-fraction", "about 0.6 of 12"})
    EXPECT_NE(w[0].find(part), std::string::npos) << part << " missing from: " << w[0];

  o.val_fraction = 0;
  w = split_warnings(s, o);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("--val-fraction 0"), std::string::npos) << w[0];
  EXPECT_NE(w[0].find("held-out loss"), std::string::npos) << w[0];

  o.val_fraction = 1;
  s.train.documents = 0;
  s.val.documents = 12;
  w = split_warnings(s, o);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("training split is empty"), std::string::npos) << w[0];
  EXPECT_NE(w[0].find("lower --val-fraction"), std::string::npos) << w[0];
}
