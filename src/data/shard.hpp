// Token shards: one tokenization that serves every objective, threshold and drop
// fraction, because shards keep segment *scores* and tags are chosen at batch time.
//
// File layout (little-endian), see docs/formats.md:
//   "PALSHARD" | u32 version | u32 header_bytes | header JSON | pad to 8
//   tokens            u16|u32 [n_tokens]              pad to 8
//   doc_tokens        u64 [n_docs + 1]      token offset of each document
//   doc_segments      u64 [n_docs + 1]      segment index of each document's first segment
//   segment_tokens    u64 [n_segments + 1]  token offset of each segment
//   segment_scores    f32 [n_segments * n_categories]
//   doc_info          JSONL bytes [header.doc_info_bytes]  ({"id": ..., "meta": ...} per document)  pad to 8
//   trailer           u32 crc32(all bytes before) | u32 0 | "PALSEND!"
// A shard without its trailer, or whose CRC does not match, is refused.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/files.hpp"
#include "core/json_io.hpp"

namespace prealign {

constexpr uint32_t kShardVersion = 1;

class ShardWriter {
 public:
  ShardWriter(std::string path, int vocab_size, std::vector<std::string> categories);
  // tokens of one document; segment_starts[i] = token offset (within the document)
  // where segment i begins (segment_starts[0] == 0); scores: n_segments * n_categories.
  void add_document(const std::string& id, const json& meta, const std::vector<int32_t>& tokens,
                    const std::vector<uint64_t>& segment_starts, const std::vector<float>& scores);
  uint64_t tokens() const { return tokens_.size(); }
  uint64_t documents() const { return doc_tokens_.size() - 1; }
  void commit();  // writes the whole shard atomically

 private:
  bool committed_ = false;
  std::string path_;
  int vocab_size_;
  std::vector<std::string> categories_;
  std::vector<int32_t> tokens_;
  std::vector<uint64_t> doc_tokens_{0}, doc_segments_{0}, segment_tokens_{0};
  std::vector<float> scores_;
  std::string doc_info_;
};

// A read-only, memory-mapped shard.
class Shard {
 public:
  // Validates layout, sizes, trailer and offsets; with verify_checksum also the
  // CRC32 over the whole file (one pass) and that every score is finite.
  static std::shared_ptr<Shard> open(const std::string& path, bool verify_checksum = true);
  ~Shard();

  const std::string& path() const { return path_; }
  const json& header() const { return header_; }
  int vocab_size() const { return vocab_size_; }
  const std::vector<std::string>& categories() const { return categories_; }
  uint64_t n_tokens() const { return n_tokens_; }
  uint64_t n_docs() const { return n_docs_; }
  uint64_t n_segments() const { return n_segments_; }

  int32_t token(uint64_t i) const { return tok16_ ? int32_t(tok16_[i]) : int32_t(tok32_[i]); }
  uint64_t doc_token_begin(uint64_t d) const { return doc_tokens_[d]; }
  uint64_t doc_token_end(uint64_t d) const { return doc_tokens_[d + 1]; }
  uint64_t doc_segment_begin(uint64_t d) const { return doc_segments_[d]; }
  uint64_t doc_segment_end(uint64_t d) const { return doc_segments_[d + 1]; }
  uint64_t segment_token_begin(uint64_t s) const { return segment_tokens_[s]; }
  uint64_t segment_token_end(uint64_t s) const { return segment_tokens_[s + 1]; }
  const float* segment_scores(uint64_t s) const { return scores_ + s * categories_.size(); }
  json doc_info(uint64_t d) const;  // {"id": ..., "meta": ...}
  // Drops this shard's pages from the process's resident set (they stay in the
  // page cache; the next access maps them again). Training calls it as it moves
  // on, so resident memory does not grow with the corpus.
  void release_pages() const;

 private:
  Shard() = default;
  void read_header(uint64_t file_size, uint32_t header_bytes);
  void check_contents(bool full);
  uint64_t doc_info_bytes_ = 0;
  std::string path_;
  json header_;
  int vocab_size_ = 0;
  std::vector<std::string> categories_;
  uint64_t n_tokens_ = 0, n_docs_ = 0, n_segments_ = 0;
  const uint16_t* tok16_ = nullptr;
  const uint32_t* tok32_ = nullptr;
  const uint64_t *doc_tokens_ = nullptr, *doc_segments_ = nullptr, *segment_tokens_ = nullptr;
  const float* scores_ = nullptr;
  // Line offsets of doc_info, built on first use (only context tags read it).
  mutable std::once_flag doc_info_index_once_;
  mutable std::vector<uint64_t> doc_info_offsets_;
  const char* doc_info_ = nullptr;
  void* map_ = nullptr;
  size_t map_size_ = 0;
};

// A dataset directory written by `prealign tokenize`: dataset.json lists the
// train and validation shards, the categories and the tokenizer they were made with.
struct Dataset {
  std::string dir;
  json manifest;
  std::vector<std::shared_ptr<Shard>> train, val;
  std::vector<std::string> categories;
  static Dataset open(const std::string& dir);
  uint64_t train_tokens() const;
  uint64_t val_tokens() const;
};

}  // namespace prealign
