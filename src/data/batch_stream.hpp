// Turns shards into training batches. The objective decides, per document, at
// batch time, whether the document is kept and which tag (if any) precedes each
// segment; the stream packs the resulting token sequence into (B, T) windows and
// carries, for every target token, the score and label of its segment.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/json_io.hpp"
#include "data/shard.hpp"

namespace prealign {

// Labels carried per target token.
enum : int8_t { kLabelNone = -1, kLabelGood = 0, kLabelBad = 1 };

struct SegmentPlan {
  std::vector<int32_t> prefix;  // tokens inserted before the segment (e.g. the <|bad|> tag)
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
};

// Position in the stream; saved in train_state so a resumed run sees exactly
// the batches it would have seen.
struct StreamCursor {
  uint64_t epoch = 0, doc_position = 0, token_offset = 0;
  json to_json() const;
  static StreamCursor from_json(const json& j, const std::string& where);
};

class BatchStream {
 public:
  // Each document becomes: BOS, plan.prefix, then per segment its plan prefix and
  // tokens, then EOS. With shuffle, documents are visited in a seeded
  // permutation per epoch; without, in shard order (validation).
  BatchStream(std::vector<std::shared_ptr<Shard>> shards, DocumentPlanner planner, int batch_size, int seq_len,
              uint64_t seed, bool shuffle);
  void next(Batch& out);  // never ends: wraps into the next epoch
  StreamCursor cursor() const { return cursor_; }
  void seek(const StreamCursor& c);
  uint64_t epoch() const { return cursor_.epoch; }

 private:
  bool load_document();  // plans and expands the document at cursor_.doc_position; false if dropped
  void enter_next_document();
  void ensure_loaded();
  void make_order(uint64_t epoch);
  struct DocRef { uint32_t shard; uint64_t doc; uint64_t first_segment_key; };
  std::vector<std::shared_ptr<Shard>> shards_;
  DocumentPlanner planner_;
  int B_, T_;
  uint64_t seed_;
  bool shuffle_;
  std::vector<DocRef> docs_;
  std::vector<uint64_t> order_;
  StreamCursor cursor_;
  // current expanded document
  std::vector<int32_t> cur_tokens_;
  std::vector<float> cur_score_;
  std::vector<int8_t> cur_label_;
  std::vector<uint8_t> cur_is_tag_;
  bool cur_loaded_ = false;
  DocumentPlan plan_;  // reused between documents
};

}  // namespace prealign
