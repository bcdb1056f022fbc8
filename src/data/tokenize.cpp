#include "data/tokenize.hpp"

#include <tuple>

#include <fnmatch.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "core/config.hpp"
#include "core/files.hpp"
#include "core/progress.hpp"
#include "core/rng.hpp"
#include "corpus/markup.hpp"
#include "data/shard.hpp"

namespace prealign {
namespace {

uint64_t fnv1a64(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

// One split's shards: a new shard is started once the current one reaches shard_tokens.
struct SplitWriter {
  std::string dir, prefix;
  int vocab_size = 0;
  uint64_t shard_tokens = 0;
  std::vector<std::string> categories;
  std::unique_ptr<ShardWriter> shard;
  uint64_t shard_segments = 0;
  SplitStats stats;
  json entries = json::array();

  SplitWriter(std::string dir_, std::string prefix_, int vocab, uint64_t max_tokens)
      : dir(std::move(dir_)), prefix(std::move(prefix_)), vocab_size(vocab), shard_tokens(max_tokens) {}

  std::string file_name() const {
    char buf[32];
    std::snprintf(buf, sizeof buf, "-%05llu.bin", static_cast<unsigned long long>(stats.shards));
    return prefix + buf;
  }
  void add(const Document& doc, const std::vector<int32_t>& tokens, const std::vector<uint64_t>& starts,
           const std::vector<float>& scores) {
    if (!shard) {
      shard = std::make_unique<ShardWriter>(dir + "/" + file_name(), vocab_size, categories);
      shard_segments = 0;
    }
    shard->add_document(doc.id, doc.meta, tokens, starts, scores);
    shard_segments += starts.size();
    ++stats.documents;
    stats.tokens += tokens.size();
    stats.segments += starts.size();
    if (shard->tokens() >= shard_tokens) close();
  }
  void close() {
    if (!shard) return;
    shard->commit();
    entries.push_back({{"file", file_name()},
                       {"tokens", shard->tokens()},
                       {"documents", shard->documents()},
                       {"segments", shard_segments}});
    ++stats.shards;
    shard.reset();
  }
};

// `at_start`: no text of the document came before (tags may have): the text
// gets the leading space a tokenizer with add_dummy_prefix was trained with.
void append_encoded(const Tokenizer& tok, std::string_view text, std::vector<int32_t>& out, bool& at_start) {
  if (text.empty()) return;
  std::vector<int> ids = at_start ? tok.encode_start(text) : tok.encode(text);
  at_start = false;
  out.insert(out.end(), ids.begin(), ids.end());
}

// Tokens of one document and the token offset where each segment starts. Each
// segment is encoded on its own so its boundaries are token boundaries. In a
// tagged text, a tag belongs to the segment in which it starts.
void encode_document(const Document& doc, const Tokenizer& tok, std::vector<int32_t>& tokens,
                     std::vector<uint64_t>& starts, std::vector<float>& scores) {
  tokens.clear();
  starts.clear();
  scores.clear();
  const std::vector<Segment> segs = covering_segments(doc);
  std::vector<MarkupPiece> pieces;
  if (doc.tagged) pieces = parse_markup(doc.text, tok.tagset());
  const std::string_view text = doc.text;
  size_t p = 0;
  bool at_start = true;
  for (const Segment& seg : segs) {
    starts.push_back(tokens.size());
    scores.insert(scores.end(), seg.scores.begin(), seg.scores.end());
    if (!doc.tagged) {
      append_encoded(tok, text.substr(seg.begin, seg.end - seg.begin), tokens, at_start);
      continue;
    }
    for (; p < pieces.size() && pieces[p].offset < seg.end; ++p) {
      const MarkupPiece& piece = pieces[p];
      if (piece.is_tag) {
        tokens.push_back(tok.tag_id(piece.text));
        continue;
      }
      uint64_t b = std::max<uint64_t>(piece.offset, seg.begin), pend = piece.offset + piece.text.size();
      uint64_t e = std::min<uint64_t>(pend, seg.end);
      if (e > b) append_encoded(tok, text.substr(b, e - b), tokens, at_start);
      if (pend > seg.end) break;  // the rest of this text piece belongs to the next segment
    }
  }
}

// The output directory is replaced as a whole; refuse if it holds anything a
// dataset would not, so a mistyped --out cannot wipe unrelated files.
void check_output_dir(const std::string& out) {
  if (!file_exists(out)) return;
  if (!is_directory(out)) fail(out, "exists and is not a directory", "choose another --out");
  for (const auto& e : std::filesystem::directory_iterator(out)) {
    std::string name = e.path().filename().string();
    if (name == "dataset.json" || name == "tokenizer.model" || name == "tagset.json" ||
        ::fnmatch("train-*.bin", name.c_str(), 0) == 0 ||
        ::fnmatch("val-*.bin", name.c_str(), 0) == 0)
      continue;
    fail(out, "refusing to replace this directory: it holds \"" + name + "\", which is not part of a dataset",
         "choose an empty or new --out directory");
  }
}

std::string strip_trailing_slashes(std::string s) {
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

json split_json(const SplitStats& s) {
  return {{"documents", s.documents}, {"tokens", s.tokens}, {"segments", s.segments}, {"shards", s.shards}};
}

ordered_json manifest(const std::vector<std::string>& inputs, const Tokenizer& tok, const TokenizeOptions& options,
                      const TokenizeStats& stats, const SplitWriter& train, const SplitWriter& val) {
  TokenizeOptions opts = options;
  std::vector<std::string> tags;
  for (int id : tok.tag_ids()) tags.push_back(tok.tag_name(id));
  ordered_json m = ordered_json::object();
  m["format"] = "prealign-dataset";
  m["version"] = kShardVersion;
  m["created_by"] = "prealign tokenize";
  m["categories"] = stats.categories;
  m["tokenizer"] = {{"vocab_size", tok.vocab_size()},
                    {"model_hash", tokenizer_model_hash(tok.serialized_model())},
                    {"tags", tags}};
  m["train"] = train.entries;
  m["val"] = val.entries;
  m["totals"] = {{"train", split_json(stats.train)}, {"val", split_json(stats.val)}};
  m["split"] = {{"by", "hash of (seed, document id)"}, {"seed", options.seed}, {"val_fraction", options.val_fraction}};
  const auto part = parse_shard(options.shard, "--shard");
  m["part"] = {{"index", part.first}, {"count", part.second}};
  m["inputs"] = inputs;
  m["options"] = config_to_json(opts);
  m["read"] = {{"documents", stats.read.documents}, {"bytes", stats.read.bytes}, {"skipped", stats.read.skipped},
               {"empty", stats.read.empty}, {"first_errors", stats.read.first_errors}};
  return m;
}

// Removes the staging directory unless it was published.
struct StagingGuard {
  std::string path;
  bool published = false;
  ~StagingGuard() {
    if (!published) remove_all(path);
  }
};

}  // namespace

bool is_validation_document(const std::string& id, uint64_t seed, double val_fraction) {
  return hash_unit(seed, fnv1a64(id)) < val_fraction;
}

std::string tokenizer_model_hash(const std::string& model_bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "fnv1a64:%016llx", static_cast<unsigned long long>(fnv1a64(model_bytes)));
  return buf;
}

namespace {

// Consumes documents from read_corpus: checks categories, encodes, routes to a split.
struct DocumentTokenizer {
  const Tokenizer& tok;
  const TokenizeOptions& options;
  TokenizeStats& stats;
  SplitWriter train, val;
  bool have_categories = false;
  uint64_t category_skips = 0, category_skip_bytes = 0;
  std::vector<std::string> category_errors;
  std::vector<int32_t> tokens;
  std::vector<uint64_t> starts;
  std::vector<float> scores;
  Progress progress{"tokenize", 0};

  DocumentTokenizer(const Tokenizer& t, const TokenizeOptions& o, TokenizeStats& st, const std::string& dir)
      : tok(t), options(o), stats(st), train(dir, "train", t.vocab_size(), o.shard_tokens),
        val(dir, "val", t.vocab_size(), o.shard_tokens) {}

  void operator()(Document&& doc) {
    if (!have_categories) {
      stats.categories = train.categories = val.categories = doc.categories;
      have_categories = true;
    } else if (doc.categories != stats.categories) {
      // The rule (docs/formats.md): every document is scored in the same categories.
      std::string what = "document is scored in " + json(doc.categories).dump() + " but earlier documents in " +
                         json(stats.categories).dump();
      if (!options.skip_bad) fail(doc.where, what, "score every document in the same categories");
      ++category_skips;
      category_skip_bytes += doc.text.size();
      if (category_errors.size() < 20) category_errors.push_back(doc.where + ": " + what);
      return;
    }
    encode_document(doc, tok, tokens, starts, scores);
    bool is_val = is_validation_document(doc.id, options.seed, options.val_fraction);
    (is_val ? val : train).add(doc, tokens, starts, scores);
    uint64_t n = train.stats.tokens + val.stats.tokens;
    progress.update(train.stats.documents + val.stats.documents,
                    human_count(double(n)) + " tokens | " +
                        human_count(double(n) / std::max(1e-9, progress.elapsed_seconds())) + " tok/s");
  }

  // Folds the documents this stage skipped into the reader's counts.
  void finish() {
    train.close();
    val.close();
    stats.train = train.stats;
    stats.val = val.stats;
    stats.read.skipped += category_skips;
    stats.read.documents -= category_skips;
    stats.read.bytes -= category_skip_bytes;
    for (auto& m : category_errors)
      if (stats.read.first_errors.size() < 20) stats.read.first_errors.push_back(m);
  }
};

}  // namespace

std::vector<std::string> split_warnings(const TokenizeStats& stats, const TokenizeOptions& options) {
  std::vector<std::string> out;
  const std::string docs = std::to_string(stats.documents()) + (stats.documents() == 1 ? " document" : " documents");
  char fraction[32];
  std::snprintf(fraction, sizeof fraction, "%g", options.val_fraction);
  const std::string split = "--val-fraction " + std::string(fraction) + " --seed " + std::to_string(options.seed);
  if (stats.train.documents == 0)
    out.push_back("the training split is empty: all " + docs + " fell in the validation split (" + split +
                  "), so `prealign train` has nothing to train on; lower --val-fraction or add documents");
  // Held-out loss, eval loss, eval prompts and eval tag-agreement all read the validation split.
  const std::string consequence =
      "`prealign train` cannot measure a held-out loss on this dataset, and `eval loss`, `eval prompts` and "
      "`eval tag-agreement` have nothing to read";
  char expected[64];
  std::snprintf(expected, sizeof expected, "about %.2g of %llu here", options.val_fraction * double(stats.documents()),
                static_cast<unsigned long long>(stats.documents()));
  if (stats.val.documents == 0 && options.val_fraction > 0)
    out.push_back("the validation split is empty: none of the " + docs + " fell in it (" + split + "): " + consequence +
                  "; add documents, or raise --val-fraction (whole documents are held out: " + expected + ")");
  if (options.val_fraction == 0)
    out.push_back("no validation split (--val-fraction 0): " + consequence +
                  "; give --val-fraction > 0 to hold out documents");
  return out;
}

TokenizeStats tokenize_corpus(const std::vector<std::string>& inputs, const Tokenizer& tokenizer,
                              const TokenizeOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  if (inputs.empty()) fail("tokenize", "no inputs", "name JSONL files, text files or directories");
  const std::string out = strip_trailing_slashes(options.out);
  if (out.empty()) fail("--out", "no output directory given");
  if (!(options.val_fraction >= 0.0 && options.val_fraction <= 1.0))
    fail("--val-fraction", "must be between 0 and 1");
  if (options.shard_tokens == 0) fail("--shard-tokens", "must be positive");
  check_output_dir(out);
  StagingGuard staging{staging_directory_for(out)};

  TokenizeStats stats;
  DocumentTokenizer dt(tokenizer, options, stats, staging.path);
  CorpusReadOptions ro;
  ro.glob = options.glob;
  ro.format = options.format;
  ro.skip_bad = options.skip_bad;
  ro.tagged = options.tagged;
  ro.text_field = options.text_field;
  ro.id_field = options.id_field;
  std::tie(ro.shard_index, ro.shard_count) = parse_shard(options.shard, "--shard");
  stats.read = read_corpus(inputs, ro, [&](Document&& d) { dt(std::move(d)); });
  dt.finish();

  if (stats.documents() == 0)
    fail(inputs.front(), "no documents to tokenize" + std::string(stats.read.skipped ? " (all were skipped)" : ""),
         "check the inputs, --format and --glob");
  for (const std::string& w : split_warnings(stats, options)) warn(w);
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // The dataset carries its tokenizer, so training needs nothing but --data.
  write_file_atomic(staging.path + "/tokenizer.model", tokenizer.serialized_model());
  write_json_file(staging.path + "/tagset.json", tokenizer.tagset().to_json());
  // dataset.json last: a directory without it is an incomplete dataset.
  write_json_file(staging.path + "/dataset.json", manifest(inputs, tokenizer, options, stats, dt.train, dt.val));
  publish_directory(staging.path, out);
  staging.published = true;
  dt.progress.finish(human_count(double(stats.tokens())) + " tokens");
  return stats;
}

std::string format_tokenize_summary(const TokenizeStats& s) {
  auto split = [](const char* name, const SplitStats& x) {
    return std::string(name) + " " + std::to_string(x.documents) + " docs / " + human_count(double(x.tokens)) +
           " tokens / " + std::to_string(x.shards) + (x.shards == 1 ? " shard" : " shards");
  };
  std::string out;
  out += "documents   " + std::to_string(s.documents()) + " tokenized, " + std::to_string(s.read.skipped) +
         " skipped (" + std::to_string(s.read.empty) + " empty)\n";
  out += "tokens      " + human_count(double(s.tokens())) + " in " + std::to_string(s.segments()) + " segments, from " +
         human_bytes(double(s.read.bytes)) + " of text\n";
  out += "split       " + split("train", s.train) + " | " + split("val", s.val) + "\n";
  out += "speed       " + human_count(s.tokens_per_second()) + " tokens/s (" + human_duration(s.seconds) + ")\n";
  std::string cats;
  for (const auto& c : s.categories) cats += (cats.empty() ? "" : ", ") + c;
  out += "categories  " + (cats.empty() ? std::string("(none: unscored corpus)") : cats) + "\n";
  if (!s.read.first_errors.empty()) {
    out += "first problems:\n";
    for (const auto& e : s.read.first_errors) out += "  " + e + "\n";
  }
  return out;
}

}  // namespace prealign
