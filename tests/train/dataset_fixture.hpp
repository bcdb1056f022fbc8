// A small scored dataset made on the fly: synthetic "code" documents whose lines
// carry a pep8-like score, a trained tokenizer, and token shards.
#pragma once
#include <random>
#include <string>

#include "core/files.hpp"
#include "core/lines.hpp"
#include "core/paths.hpp"
#include "corpus/document.hpp"
#include "data/tokenize.hpp"
#include "test_util.hpp"
#include "tokenizer/tokenizer.hpp"

namespace prealign::testing {

// Lines with a double space before "=" get score 0.1 (bad), the others 0.
// `indented`: every other line starts with 4 or 8 spaces.
inline Document synthetic_document(std::mt19937& rng, int index, bool indented = false) {
  static const char* names[] = {"alpha", "beta", "gamma", "delta", "value", "total", "count", "item"};
  Document d;
  d.id = "doc" + std::to_string(index);
  d.categories = {"pep8"};
  int lines = 5 + static_cast<int>(rng() % 10);
  for (int i = 0; i < lines; ++i) {
    bool bad = rng() % 4 == 0;
    std::string line = std::string(names[rng() % 8]) + (bad ? "  = " : " = ") + std::to_string(rng() % 100) + "\n";
    if (indented && i % 2 == 1) line = std::string(4 * (1 + rng() % 2), ' ') + line;
    uint64_t begin = d.text.size();
    d.text += line;
    d.segments.push_back({begin, d.text.size(), {bad ? 0.1f : 0.0f}});
  }
  return d;
}

// Builds <dir>/data (dataset) and <dir>/tokenizer; returns the dataset directory.
inline std::string make_scored_dataset(const std::string& dir, int documents = 300, bool indented = false) {
  std::mt19937 rng(7);
  std::vector<Document> docs;
  for (int i = 0; i < documents; ++i) docs.push_back(synthetic_document(rng, i, indented));
  const std::string scored = dir + "/scored.jsonl";
  JsonlWriter w(scored);
  for (const auto& d : docs) w.write(document_to_json(d));
  w.commit();
  Tagset tags = Tagset::load(find_shipped_file("configs/tagsets/good_bad.json"));
  TokenizerTrainOptions to;
  to.vocab_size = 320;
  size_t next = 0;
  make_directories(dir + "/tokenizer");
  Tokenizer::train([&](std::string& t) {
    if (next >= docs.size()) return false;
    t = docs[next++].text;
    return true;
  }, tags, to, dir + "/tokenizer/tokenizer.model");
  Tokenizer tok = Tokenizer::load(dir + "/tokenizer/tokenizer.model", tags);
  TokenizeOptions opt;
  opt.out = dir + "/data";
  opt.val_fraction = 0.1;
  tokenize_corpus({scored}, tok, opt);
  return opt.out;
}

// A suite sharing one scored dataset, made once per suite (ctest runs each test
// in its own process, so once per test there).
class ScoredDatasetSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(temp_dir());
    data_ = new std::string(make_scored_dataset(*dir_));
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete data_;
    dir_ = data_ = nullptr;
  }
  static inline std::string* dir_ = nullptr;
  static inline std::string* data_ = nullptr;
};

}  // namespace prealign::testing
