#include "data/batch_stream.hpp"

#include <numeric>

#include "core/rng.hpp"
#include "tokenizer/tokenizer.hpp"

namespace prealign {

json StreamCursor::to_json() const {
  return {{"epoch", epoch}, {"doc_position", doc_position}, {"token_offset", token_offset}};
}

StreamCursor StreamCursor::from_json(const json& j, const std::string& where) {
  StreamCursor c;
  c.epoch = json_required<uint64_t>(j, "epoch", where);
  c.doc_position = json_required<uint64_t>(j, "doc_position", where);
  c.token_offset = json_required<uint64_t>(j, "token_offset", where);
  return c;
}

BatchStream::BatchStream(std::vector<std::shared_ptr<Shard>> shards, DocumentPlanner planner, int batch_size,
                         int seq_len, uint64_t seed, bool shuffle)
    : shards_(std::move(shards)), planner_(std::move(planner)), B_(batch_size), T_(seq_len), seed_(seed),
      shuffle_(shuffle) {
  if (B_ <= 0 || T_ <= 0) fail("BatchStream", "batch size and sequence length must be positive");
  if (!planner_) fail("BatchStream", "no document planner");
  uint64_t key = 0;  // global segment index across shards: a stable per-document key
  for (uint32_t s = 0; s < shards_.size(); ++s) {
    if (!shards_[s]) fail("BatchStream", "null shard");
    const Shard& sh = *shards_[s];
    for (uint64_t d = 0; d < sh.n_docs(); ++d) docs_.push_back({s, d, key + sh.doc_segment_begin(d)});
    key += sh.n_segments();
  }
  if (docs_.empty()) fail("BatchStream", "the dataset has no documents", "check the shards given to training");
  make_order(0);
}

// Visiting order of one epoch: identity, or a Fisher-Yates permutation seeded by
// (seed, epoch) alone, so any epoch can be rebuilt on resume without replaying others.
void BatchStream::make_order(uint64_t epoch) {
  order_.resize(docs_.size());
  std::iota(order_.begin(), order_.end(), uint64_t(0));
  if (!shuffle_) return;
  Rng rng(hash_combine(seed_, epoch));
  for (uint64_t i = order_.size() - 1; i > 0; --i) std::swap(order_[i], order_[rng() % (i + 1)]);
}

bool BatchStream::load_document() {
  const DocRef& ref = docs_[order_[cursor_.doc_position]];
  const Shard& sh = *shards_[ref.shard];
  const uint64_t s0 = sh.doc_segment_begin(ref.doc), ns = sh.doc_segment_end(ref.doc) - s0;
  // Reset the plan in place so its vectors keep their capacity between documents.
  plan_.keep = true;
  plan_.prefix.clear();
  plan_.segments.resize(ns);
  for (SegmentPlan& sp : plan_.segments) {
    sp.prefix.clear();
    sp.label = kLabelNone;
    sp.score = 0.f;
  }
  planner_(DocumentView{&sh, ref.doc, ref.first_segment_key}, plan_);
  if (plan_.segments.size() != ns)
    fail("BatchStream", "the planner returned " + std::to_string(plan_.segments.size()) + " segment plans for " +
                            std::to_string(ns) + " segments");
  cur_loaded_ = true;
  if (!plan_.keep) return false;

  cur_tokens_.clear();
  cur_score_.clear();
  cur_label_.clear();
  cur_is_tag_.clear();
  auto push = [&](int32_t tok, const SegmentPlan& sp, uint8_t is_tag) {
    cur_tokens_.push_back(tok);
    cur_score_.push_back(sp.score);
    cur_label_.push_back(sp.label);
    cur_is_tag_.push_back(is_tag);
  };
  // BOS and the document prefix carry the first segment's score and label, EOS the last one's.
  push(Tokenizer::kBos, plan_.segments.front(), 0);
  for (int32_t t : plan_.prefix) push(t, plan_.segments.front(), 1);
  for (uint64_t i = 0; i < ns; ++i) {
    const SegmentPlan& sp = plan_.segments[i];
    for (int32_t t : sp.prefix) push(t, sp, 1);
    for (uint64_t k = sh.segment_token_begin(s0 + i); k < sh.segment_token_end(s0 + i); ++k) push(sh.token(k), sp, 0);
  }
  push(Tokenizer::kEos, plan_.segments.back(), 0);
  return true;
}

// Moves to the next document the plan keeps, wrapping into the next epoch.
void BatchStream::enter_next_document() {
  for (uint64_t dropped = 0; dropped <= docs_.size(); ++dropped) {
    if (++cursor_.doc_position == order_.size()) {
      cursor_.doc_position = 0;
      make_order(++cursor_.epoch);
    }
    cursor_.token_offset = 0;
    if (load_document()) return;
  }
  fail("BatchStream", "the objective dropped every document", "check the objective's filter threshold");
}

// After construction or seek(): expands the document under the cursor.
void BatchStream::ensure_loaded() {
  if (cur_loaded_) return;
  if (!load_document()) {
    if (cursor_.token_offset != 0)
      fail("stream cursor", "the cursor points into a document the objective now drops",
           "resume with the same dataset and objective settings");
    enter_next_document();
  }
  if (cursor_.token_offset >= cur_tokens_.size())
    fail("stream cursor", "token offset " + std::to_string(cursor_.token_offset) + " is past the document",
         "resume with the same dataset and objective settings");
}

void BatchStream::seek(const StreamCursor& c) {
  if (c.doc_position >= docs_.size())
    fail("stream cursor", "document position " + std::to_string(c.doc_position) + " but the dataset has " +
                              std::to_string(docs_.size()) + " documents",
         "resume with the same dataset");
  cursor_ = c;
  make_order(c.epoch);
  cur_loaded_ = false;
}

void BatchStream::next(Batch& out) {
  ensure_loaded();
  const size_t n = size_t(B_) * size_t(T_);
  out.B = B_;
  out.T = T_;
  out.inputs.resize(n);
  out.targets.resize(n);
  out.score.resize(n);
  out.label.resize(n);
  out.is_tag.resize(n);
  out.documents_started = 0;
  // Row r holds T+1 consecutive stream tokens; it ends on the token the next row
  // starts with, so every stream token is a target exactly once.
  uint64_t off = cursor_.token_offset;
  for (int r = 0; r < B_; ++r) {
    const size_t row = size_t(r) * size_t(T_);
    for (int k = 0; k <= T_; ++k) {
      if (off == cur_tokens_.size()) {
        enter_next_document();
        off = 0;
      }
      if (k < T_) {
        out.inputs[row + k] = cur_tokens_[off];
        if (off == 0) ++out.documents_started;  // counted where its BOS is an input
      }
      if (k > 0) {
        out.targets[row + k - 1] = cur_tokens_[off];
        out.score[row + k - 1] = cur_score_[off];
        out.label[row + k - 1] = cur_label_[off];
        out.is_tag[row + k - 1] = cur_is_tag_[off];
      }
      if (k < T_) ++off;
    }
  }
  cursor_.token_offset = off;
}

}  // namespace prealign
