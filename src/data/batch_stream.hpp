// Turns shards into training batches. The objective decides, per document, at
// batch time, whether the document is kept and which tag (if any) precedes each
// segment; the stream packs the resulting token sequence into (B, T) windows and
// carries, for every target token, the score and label of its segment.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/json_io.hpp"
#include "data/shard.hpp"

namespace prealign {

// Labels carried per target token.
enum : int8_t { kLabelNone = -1, kLabelGood = 0, kLabelBad = 1 };

struct SegmentPlan {
  std::vector<int32_t> prefix;  // tokens inserted into the segment (e.g. the <|bad|> tag) ...
  uint32_t prefix_at = 0;       // ... after this many of its tokens (0: before the segment)
  int8_t label = kLabelNone;
  float score = 0.f;            // scalar score the objective uses (e.g. the rule's category)
};

struct DocumentPlan {
  bool keep = true;
  std::vector<int32_t> prefix;  // tokens after BOS, before the first segment (document-level tags)
  std::vector<SegmentPlan> segments;  // one per segment of the document
};

// What the objective sees of a document when planning it.
struct DocumentView {
  const Shard* shard;
  uint64_t doc;             // index in shard
  uint64_t global_segment;  // stable key of the document's first segment (for seeded decisions)
};

using DocumentPlanner = std::function<void(const DocumentView&, DocumentPlan&)>;

struct Batch {
  int B = 0, T = 0;
  std::vector<int64_t> inputs, targets;  // (B, T)
  std::vector<float> score;              // (B, T) segment score of each target
  std::vector<int8_t> label;             // (B, T) segment label of each target
  std::vector<uint8_t> is_tag;           // (B, T) target was inserted by the plan (a tag)
  uint64_t documents_started = 0;        // documents entered while filling this batch
  std::vector<uint64_t> source_targets;  // targets drawn from each source (the data mix's per-dataset count)
};

// One dataset of a mix: its shards and its sampling weight.
struct StreamSource {
  std::string name;
  std::vector<std::shared_ptr<Shard>> shards;
  double weight = 1.0;
};

// Position in the stream; saved in train_state so a resumed run sees exactly
// the batches it would have seen. `slot` counts documents taken (kept or not);
// each source remembers where its own order stands; `current` is the document
// being read and `token_offset` the next token of it.
struct StreamCursor {
  struct SourcePosition {
    uint64_t epoch = 0, doc_position = 0;  // the next document this source gives
  };
  uint64_t slot = 0, token_offset = 0;
  bool has_current = false;
  uint32_t current_source = 0;
  SourcePosition current;
  std::vector<SourcePosition> sources;
  json to_json() const;
  static StreamCursor from_json(const json& j, const std::string& where);
};

class BatchStream {
 public:
  // Each document becomes: BOS, plan.prefix, then per segment its plan prefix and
  // tokens, then EOS. Documents come from the sources in proportion to their
  // weights (a seeded choice per document slot); within a source, with shuffle,
  // in a seeded permutation per epoch (data/permutation.hpp), without it in
  // shard order (validation). Memory does not depend on the number of documents.
  BatchStream(std::vector<StreamSource> sources, DocumentPlanner planner, int batch_size, int seq_len, uint64_t seed,
              bool shuffle);
  // A single source.
  BatchStream(std::vector<std::shared_ptr<Shard>> shards, DocumentPlanner planner, int batch_size, int seq_len,
              uint64_t seed, bool shuffle);

  void next(Batch& out);  // never ends: wraps into the next epoch
  // Data parallelism: the global batch is `parts` consecutive batches of this
  // size; this fills part `part` of them and moves past the others, so `parts`
  // ranks calling it with their own part together see exactly what one process
  // calling next() `parts` times would.
  void next_slice(Batch& out, int part, int parts);
  // Moves past `rows` sequences without reading their tokens.
  void skip_rows(uint64_t rows);

  StreamCursor cursor() const { return cursor_; }
  void seek(const StreamCursor& c);
  uint64_t epoch() const;  // the lowest epoch any source is in
  const std::vector<StreamSource>& sources() const { return sources_; }

 private:
  struct SourceIndex {
    std::vector<uint64_t> doc_start;      // per shard: index of its first document in the source (+ total)
    std::vector<uint64_t> segment_start;  // per shard: global key of its first segment
    uint64_t docs = 0;
  };
  uint32_t pick_source(uint64_t slot) const;
  uint64_t order_at(uint32_t source, const StreamCursor::SourcePosition& p) const;
  bool load_current(bool expand);  // plans the current document; false if the plan drops it
  void expand_current();
  void enter_next_document();
  void ensure_loaded(bool expand);
  void release_pages();

  std::vector<StreamSource> sources_;
  std::vector<SourceIndex> index_;
  std::vector<double> cumulative_weight_;
  DocumentPlanner planner_;
  int B_, T_;
  uint64_t seed_;
  bool shuffle_;
  uint64_t total_docs_ = 0;
  StreamCursor cursor_;
  // the current document: its planned length, and its tokens once expanded
  uint64_t cur_length_ = 0;
  std::vector<int32_t> cur_tokens_;
  std::vector<float> cur_score_;
  std::vector<int8_t> cur_label_;
  std::vector<uint8_t> cur_is_tag_;
  const Shard* cur_shard_ = nullptr;
  uint64_t cur_doc_ = 0;
  bool cur_loaded_ = false, cur_expanded_ = false;
  DocumentPlan plan_;  // reused between documents
  std::vector<const Shard*> touched_;  // shards read since the last release_pages()
};

}  // namespace prealign
