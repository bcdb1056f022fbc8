// Writes a dataset of synthetic token shards of a given size, fast: for
// measuring what training's memory does as the corpus grows (bench/train_rss.sh)
// without tokenizing gigabytes of text. Token ids are random non-special ids of
// the tokenizer copied from --like (an existing dataset), in documents of about
// 600 tokens with ~20-token segments, each with one random score.
//
//   build/bench/make_shards --like build/bench-train/data-8192 --tokens 50000000 --out /tmp/d50m
#include <cstdio>
#include <random>
#include <string>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/json_io.hpp"
#include "data/shard.hpp"
#include "data/tokenize.hpp"

using namespace prealign;

int main(int argc, char** argv) {
  std::string like, out;
  uint64_t tokens = 0, shard_tokens = 50000000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--like") like = v;
    else if (k == "--out") out = v;
    else if (k == "--tokens") tokens = std::stoull(v);
    else if (k == "--shard-tokens") shard_tokens = std::stoull(v);
  }
  if (like.empty() || out.empty() || tokens == 0) {
    std::fprintf(stderr, "usage: make_shards --like DATASET --tokens N --out DIR [--shard-tokens N]\n");
    return 2;
  }
  try {
    Dataset model = Dataset::open(like);
    const int vocab = json_required<int>(model.manifest.at("tokenizer"), "vocab_size", like);
    make_directories(out);
    write_file_atomic(out + "/tokenizer.model", read_file(like + "/tokenizer.model"));
    write_file_atomic(out + "/tagset.json", read_file(like + "/tagset.json"));
    std::mt19937_64 rng(7);
    json train = json::array(), val = json::array();
    uint64_t written = 0;
    for (int s = 0; written < tokens; ++s) {
      const bool is_val = s == 0;  // one small validation shard first
      const uint64_t target = is_val ? std::min<uint64_t>(200000, tokens) : std::min(shard_tokens, tokens - written);
      char name[32];
      std::snprintf(name, sizeof name, "%s-%05d.bin", is_val ? "val" : "train", s);
      ShardWriter w(out + "/" + name, vocab, model.categories);
      uint64_t docs = 0, segments = 0, in_shard = 0;
      std::vector<int32_t> ids;
      std::vector<uint64_t> starts;
      std::vector<float> scores;
      while (in_shard < target) {
        const uint64_t n = std::min<uint64_t>(300 + rng() % 600, target - in_shard + 1);
        ids.resize(n);
        for (auto& id : ids) id = 64 + int32_t(rng() % uint64_t(vocab - 64));  // past specials and tags
        starts.clear();
        for (uint64_t at = 0; at < n; at += 10 + rng() % 20) starts.push_back(at);
        scores.assign(starts.size() * model.categories.size(), 0.f);
        for (auto& x : scores) x = float(rng() % 100) / 1000.f;
        w.add_document("doc" + std::to_string(docs), json::object(), ids, starts, scores);
        in_shard += n;
        ++docs;
        segments += starts.size();
      }
      w.commit();
      (is_val ? val : train).push_back({{"file", name}, {"tokens", w.tokens()}, {"documents", docs}, {"segments", segments}});
      if (!is_val) written += in_shard;
    }
    json m = model.manifest;
    m["train"] = train;
    m["val"] = val;
    m["created_by"] = "bench/make_shards (synthetic tokens)";
    write_json_file(out + "/dataset.json", m);
    Dataset::open(out);  // every shard reads back
    std::printf("%s: %llu train tokens in %zu shards\n", out.c_str(), (unsigned long long)written, train.size());
  } catch (const Error& e) {
    std::fprintf(stderr, "make_shards: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
