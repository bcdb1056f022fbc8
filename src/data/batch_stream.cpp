#include "data/batch_stream.hpp"

#include <algorithm>
#include <cmath>

#include "core/rng.hpp"
#include "data/permutation.hpp"
#include "tokenizer/tokenizer.hpp"

namespace prealign {

namespace {
constexpr int kCursorVersion = 2;
constexpr uint64_t kMixKey = 0x6d69782d736c6f74ULL;  // "mix-slot": the per-slot source choice
}  // namespace

json StreamCursor::to_json() const {
  json list = json::array();
  for (const SourcePosition& p : sources) list.push_back({{"epoch", p.epoch}, {"doc_position", p.doc_position}});
  json j = {{"version", kCursorVersion}, {"slot", slot}, {"token_offset", token_offset}, {"sources", list}};
  if (has_current)
    j["current"] = {{"source", current_source}, {"epoch", current.epoch}, {"doc_position", current.doc_position}};
  return j;
}

StreamCursor StreamCursor::from_json(const json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("version"))
    fail(where, "a data cursor written by an older prealign, whose document order differs from this one's",
         "start the run again, or finish it with the prealign that started it");
  if (json_required<int>(j, "version", where) != kCursorVersion) fail(where, "unknown data cursor version");
  StreamCursor c;
  c.slot = json_required<uint64_t>(j, "slot", where);
  c.token_offset = json_required<uint64_t>(j, "token_offset", where);
  const json list = json_required<json>(j, "sources", where);
  if (!list.is_array()) fail(where, "\"sources\" must be an array");
  for (const json& p : list)
    c.sources.push_back({json_required<uint64_t>(p, "epoch", where), json_required<uint64_t>(p, "doc_position", where)});
  if (j.contains("current")) {
    const json& cur = j.at("current");
    c.has_current = true;
    c.current_source = json_required<uint32_t>(cur, "source", where);
    c.current = {json_required<uint64_t>(cur, "epoch", where), json_required<uint64_t>(cur, "doc_position", where)};
  }
  return c;
}

BatchStream::BatchStream(std::vector<std::shared_ptr<Shard>> shards, DocumentPlanner planner, int batch_size,
                         int seq_len, uint64_t seed, bool shuffle)
    : BatchStream(std::vector<StreamSource>{StreamSource{"data", std::move(shards), 1.0}}, std::move(planner),
                  batch_size, seq_len, seed, shuffle) {}

BatchStream::BatchStream(std::vector<StreamSource> sources, DocumentPlanner planner, int batch_size, int seq_len,
                         uint64_t seed, bool shuffle)
    : sources_(std::move(sources)), planner_(std::move(planner)), B_(batch_size), T_(seq_len), seed_(seed),
      shuffle_(shuffle) {
  if (B_ <= 0 || T_ <= 0) fail("BatchStream", "batch size and sequence length must be positive");
  if (!planner_) fail("BatchStream", "no document planner");
  if (sources_.empty()) fail("BatchStream", "no data sources");
  uint64_t key = 0;  // global segment index across sources and shards: a stable per-document key
  double weights = 0;
  for (const StreamSource& src : sources_) {
    SourceIndex idx;
    for (const auto& sh : src.shards) {
      if (!sh) fail("BatchStream", "null shard");
      idx.doc_start.push_back(idx.docs);
      idx.segment_start.push_back(key);
      idx.docs += sh->n_docs();
      key += sh->n_segments();
    }
    idx.doc_start.push_back(idx.docs);
    if (idx.docs == 0)
      fail(src.name, "the dataset has no documents", "check the shards given to training (--data)");
    if (!(src.weight > 0) || !std::isfinite(src.weight))
      fail(src.name, "a data mix weight must be a positive number", "e.g. --data a=0.9,b=0.1");
    weights += src.weight;
    cumulative_weight_.push_back(weights);
    total_docs_ += idx.docs;
    index_.push_back(std::move(idx));
  }
  for (double& w : cumulative_weight_) w /= weights;
  cursor_.sources.resize(sources_.size());
}

// The source of a document slot: a seeded draw by weight, a pure function of the slot.
uint32_t BatchStream::pick_source(uint64_t slot) const {
  if (sources_.size() == 1) return 0;
  const double u = hash_unit(hash_combine(seed_, kMixKey), slot);
  auto it = std::upper_bound(cumulative_weight_.begin(), cumulative_weight_.end(), u);
  return static_cast<uint32_t>(std::min<size_t>(it - cumulative_weight_.begin(), sources_.size() - 1));
}

// Document index (within the source) at position p of its order: identity, or a
// permutation seeded by (seed, source, epoch) alone, so any epoch can be rebuilt on resume.
uint64_t BatchStream::order_at(uint32_t source, const StreamCursor::SourcePosition& p) const {
  if (!shuffle_) return p.doc_position;
  return Permutation(index_[source].docs, hash_combine(seed_, hash_combine(source, p.epoch)))(p.doc_position);
}

bool BatchStream::load_current(bool expand) {
  const uint32_t k = cursor_.current_source;
  const SourceIndex& idx = index_[k];
  const uint64_t g = order_at(k, cursor_.current);
  const size_t s = std::upper_bound(idx.doc_start.begin(), idx.doc_start.end(), g) - idx.doc_start.begin() - 1;
  const Shard& sh = *sources_[k].shards[s];
  cur_shard_ = &sh;
  cur_doc_ = g - idx.doc_start[s];
  const uint64_t s0 = sh.doc_segment_begin(cur_doc_), ns = sh.doc_segment_end(cur_doc_) - s0;
  // Reset the plan in place so its vectors keep their capacity between documents.
  plan_.keep = true;
  plan_.prefix.clear();
  plan_.segments.resize(ns);
  for (SegmentPlan& sp : plan_.segments) {
    sp.prefix.clear();
    sp.prefix_at = 0;
    sp.label = kLabelNone;
    sp.score = 0.f;
  }
  planner_(DocumentView{&sh, cur_doc_, idx.segment_start[s] + s0}, plan_);
  if (plan_.segments.size() != ns)
    fail("BatchStream", "the planner returned " + std::to_string(plan_.segments.size()) + " segment plans for " +
                            std::to_string(ns) + " segments");
  if (std::find(touched_.begin(), touched_.end(), &sh) == touched_.end()) touched_.push_back(&sh);
  cur_loaded_ = true;
  cur_expanded_ = false;
  if (!plan_.keep) return false;
  cur_length_ = 2 + plan_.prefix.size() + (sh.doc_token_end(cur_doc_) - sh.doc_token_begin(cur_doc_));
  for (const SegmentPlan& sp : plan_.segments) cur_length_ += sp.prefix.size();
  if (expand) expand_current();
  return true;
}

// The current document's tokens: BOS and the document prefix carry the first
// segment's score and label, EOS the last one's.
void BatchStream::expand_current() {
  const Shard& sh = *cur_shard_;
  const uint64_t s0 = sh.doc_segment_begin(cur_doc_), ns = plan_.segments.size();
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
  push(Tokenizer::kBos, plan_.segments.front(), 0);
  for (int32_t t : plan_.prefix) push(t, plan_.segments.front(), 1);
  for (uint64_t i = 0; i < ns; ++i) {
    const SegmentPlan& sp = plan_.segments[i];
    const uint64_t b = sh.segment_token_begin(s0 + i), e = sh.segment_token_end(s0 + i);
    const uint64_t at = std::min<uint64_t>(b + sp.prefix_at, e);
    for (uint64_t k = b; k < at; ++k) push(sh.token(k), sp, 0);
    for (int32_t t : sp.prefix) push(t, sp, 1);
    for (uint64_t k = at; k < e; ++k) push(sh.token(k), sp, 0);
  }
  push(Tokenizer::kEos, plan_.segments.back(), 0);
  cur_expanded_ = true;
}

// Takes the next document slot's document, skipping those the plan drops.
void BatchStream::enter_next_document() {
  // A mix may draw a source whose documents are all dropped many times in a row; give up
  // only when that is far beyond chance.
  const uint64_t limit = sources_.size() == 1 ? total_docs_ + 1 : 4 * total_docs_ + 64;
  for (uint64_t attempt = 0; attempt < limit; ++attempt) {
    const uint32_t k = pick_source(cursor_.slot);
    StreamCursor::SourcePosition& next = cursor_.sources[k];
    cursor_.has_current = true;
    cursor_.current_source = k;
    cursor_.current = next;
    ++cursor_.slot;
    if (++next.doc_position == index_[k].docs) {
      next.doc_position = 0;
      ++next.epoch;
    }
    cursor_.token_offset = 0;
    if (load_current(false)) return;
  }
  fail("BatchStream", "the objective dropped every document", "check the objective's filter threshold");
}

// After construction or seek(): plans the document under the cursor.
void BatchStream::ensure_loaded(bool expand) {
  if (!cur_loaded_) {
    if (!cursor_.has_current) {
      enter_next_document();
    } else if (!load_current(false)) {
      if (cursor_.token_offset != 0)
        fail("stream cursor", "the cursor points into a document the objective now drops",
             "resume with the same dataset and objective settings");
      enter_next_document();
    }
    if (cursor_.token_offset >= cur_length_)
      fail("stream cursor", "token offset " + std::to_string(cursor_.token_offset) + " is past the document",
           "resume with the same dataset and objective settings");
  }
  if (expand && !cur_expanded_) expand_current();
}

void BatchStream::seek(const StreamCursor& c) {
  const std::string where = "stream cursor";
  if (c.sources.size() != sources_.size())
    fail(where, "the cursor has " + std::to_string(c.sources.size()) + " data sources, the run " +
                    std::to_string(sources_.size()),
         "resume with the same --data");
  for (size_t k = 0; k < sources_.size(); ++k)
    if (c.sources[k].doc_position >= index_[k].docs)
      fail(where, "document position " + std::to_string(c.sources[k].doc_position) + " but " + sources_[k].name +
                      " has " + std::to_string(index_[k].docs) + " documents",
           "resume with the same dataset");
  if (c.has_current && (c.current_source >= sources_.size() || c.current.doc_position >= index_[c.current_source].docs))
    fail(where, "the current document is outside the dataset", "resume with the same dataset");
  cursor_ = c;
  cur_loaded_ = false;
}

uint64_t BatchStream::epoch() const {
  uint64_t e = UINT64_MAX;
  for (const auto& p : cursor_.sources) e = std::min(e, p.epoch);
  return e;
}

void BatchStream::release_pages() {
  for (const Shard* sh : touched_) sh->release_pages();
  touched_.clear();
}

void BatchStream::next(Batch& out) {
  ensure_loaded(true);
  const size_t n = size_t(B_) * size_t(T_);
  out.B = B_;
  out.T = T_;
  out.inputs.resize(n);
  out.targets.resize(n);
  out.score.resize(n);
  out.label.resize(n);
  out.is_tag.resize(n);
  out.documents_started = 0;
  out.source_targets.assign(sources_.size(), 0);
  // Row r holds T+1 consecutive stream tokens; it ends on the token the next row
  // starts with, so every stream token is a target exactly once.
  uint64_t off = cursor_.token_offset;
  for (int r = 0; r < B_; ++r) {
    const size_t row = size_t(r) * size_t(T_);
    for (int k = 0; k <= T_; ++k) {
      if (off == cur_length_) {
        enter_next_document();
        expand_current();
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
        ++out.source_targets[cursor_.current_source];
      }
      if (k < T_) ++off;
    }
  }
  cursor_.token_offset = off;
  release_pages();  // this batch's tokens are copied out; the current document is held expanded
}

void BatchStream::skip_rows(uint64_t rows) {
  if (rows == 0) return;
  ensure_loaded(false);
  uint64_t remaining = rows * uint64_t(T_), off = cursor_.token_offset;
  // Lands where next() would: a position at a document's end is the next document's start.
  while (remaining > 0) {
    const uint64_t avail = cur_length_ - off;
    if (remaining < avail) {
      off += remaining;
      break;
    }
    remaining -= avail;
    enter_next_document();
    off = 0;
  }
  cursor_.token_offset = off;
  release_pages();
}

void BatchStream::next_slice(Batch& out, int part, int parts) {
  if (parts < 1 || part < 0 || part >= parts)
    fail("BatchStream", "slice " + std::to_string(part) + " of " + std::to_string(parts) + " does not exist");
  skip_rows(uint64_t(part) * B_);
  next(out);
  skip_rows(uint64_t(parts - 1 - part) * B_);
}

}  // namespace prealign
