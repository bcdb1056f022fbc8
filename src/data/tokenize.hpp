// Corpus -> dataset directory of token shards (`prealign tokenize`). One
// tokenization serves every objective: shards keep segment scores, and tags
// are chosen at batch time (data/batch_stream.hpp). Layout: docs/formats.md.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "corpus/reader.hpp"
#include "tokenizer/tokenizer.hpp"

namespace prealign {

struct TokenizeOptions {
  std::string out;                  // dataset directory (replaced as a whole when complete)
  double val_fraction = 0.05;
  uint64_t seed = 1234;             // with each document id, decides its split
  bool skip_bad = false;
  std::string glob = "*";
  std::string format = "auto";
  bool tagged = false;
  uint64_t shard_tokens = 50000000;  // a shard is closed once it holds this many tokens
  std::string text_field = "text";
  std::string id_field = "id";
  std::string shard = "0/1";         // a job array's part: records i, i+n, ... (dataset merge joins parts)

  template <class V>
  void visit(V& v) {
    v("out", out, "output dataset directory");
    v("val_fraction", val_fraction, "fraction of documents held out for validation (split by document id)");
    v("seed", seed, "seed of the train/validation split");
    v("skip_bad", skip_bad, "skip and count bad records instead of stopping at the first");
    v("glob", glob, "for directory inputs: files to read, e.g. '*.py'");
    v("format", format, "auto (.jsonl = scored JSONL, else plain text), jsonl or text");
    v("tagged", tagged, "texts carry inline tag markup (trusted corpus): declared tag names become tag tokens");
    v("shard_tokens", shard_tokens, "tokens per shard file");
    v("text_field", text_field, "JSONL field holding the text");
    v("id_field", id_field, "JSONL field holding the document id");
    v("shard", shard, "i/n: tokenize only records i, i+n, ... (one job of an array; join the parts with "
                      "prealign dataset merge)");
  }
};

struct SplitStats {
  uint64_t documents = 0, tokens = 0, segments = 0, shards = 0;
};

struct TokenizeStats {
  CorpusReadStats read;             // documents/bytes read, skipped records, first errors
  SplitStats train, val;
  std::vector<std::string> categories;
  double seconds = 0;
  uint64_t documents() const { return train.documents + val.documents; }
  uint64_t tokens() const { return train.tokens + val.tokens; }
  uint64_t segments() const { return train.segments + val.segments; }
  double tokens_per_second() const { return seconds > 0 ? double(tokens()) / seconds : 0.0; }
};

// Reads `inputs`, tokenizes each segment separately (so segment boundaries are
// token boundaries; tagged texts: markup tags become tag ids), splits by
// document id, and publishes `options.out` with train-*.bin, val-*.bin and,
// written last, dataset.json.
TokenizeStats tokenize_corpus(const std::vector<std::string>& inputs, const Tokenizer& tokenizer,
                              const TokenizeOptions& options);

// Warnings about a split that leaves later stages without data: an empty
// training or validation split, each naming what it breaks and the flag to change.
std::vector<std::string> split_warnings(const TokenizeStats& stats, const TokenizeOptions& options);

// True if the document with this id goes to validation: a pure function of
// (seed, id), so adding documents never moves others between splits.
bool is_validation_document(const std::string& id, uint64_t seed, double val_fraction);

// "fnv1a64:<16 hex digits>" of the serialized tokenizer model, as recorded in dataset.json.
std::string tokenizer_model_hash(const std::string& model_bytes);

// The human summary printed at the end of `prealign tokenize`.
std::string format_tokenize_summary(const TokenizeStats& stats);

}  // namespace prealign
