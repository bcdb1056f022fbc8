// Labeling: scores -> tags. One implementation serves `prealign label` and the
// objectives at batch time (conditional, filter, unlikelihood), so the tags a
// model is trained with are exactly the ones the label report shows.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/json_io.hpp"
#include "tokenizer/band_tags.hpp"

namespace prealign {

// "0.002" is an absolute score; "p95" (or "95%") is the 95th percentile of the
// corpus's segment scores for the rule's category, resolved by Labeler::fit.
struct ThresholdSpec {
  bool percentile = false;
  double value = 0.0;
  static ThresholdSpec parse(const std::string& text, const std::string& where);
  std::string to_string() const;
};

// A segment is bad for a rule when its score in `category` is > the threshold
// (PHF: score <= threshold is aligned).
struct LabelRule {
  std::string category;
  ThresholdSpec threshold;
  std::string good_tag = "<|good|>";
  std::string bad_tag = "<|bad|>";
};

// A document-level context tag from a metadata field: a document whose meta
// `field` equals `value` (or, for an array, contains it) gets `tag` before its
// text, e.g. {"field": "genre", "value": "fiction", "tag": "<fiction>"}.
struct ContextRule {
  std::string field, value, tag;
};

// A band tag from a numeric metadata field (seed 004): a document whose meta
// `field` is a number gets the tag of the band holding it, from the band set
// `category` declared in the tagset file `tagset` (tokenizer/band_tags.hpp).
// A value outside the set's range, or not a number, gets no band tag.
struct BandRule {
  std::string field, tagset, category;
  BandSet set;  // read from `tagset` by LabelingConfig::from_json
};

struct LabelingConfig {
  std::vector<LabelRule> rules;
  std::vector<ContextRule> context;
  std::vector<BandRule> bands;  // after the context tags, in this order
  double drop_fraction = 0.0;  // fraction of segments left untagged (PHF drop_token_fraction)
  uint64_t seed = 0;           // drop decisions are a pure function of (seed, segment key)
  static LabelingConfig from_json(const json& j, const std::string& where);
  ordered_json to_json() const;
};

struct SegmentLabel {
  bool bad = false;               // any rule says bad
  bool dropped = false;           // left untagged
  std::vector<std::string> tags;  // tags to put before the segment (empty when dropped)
  float score = 0.f;              // score in the first rule's category
};

class Labeler {
 public:
  // `categories`: the score categories of the corpus, in the order of the score arrays.
  Labeler(LabelingConfig config, std::vector<std::string> categories, const std::string& where);

  bool needs_fit() const;  // some threshold is a percentile
  // Resolves percentile thresholds; `for_each_segment(visit)` must call visit(scores)
  // for every segment (scores points at one value per category). Samples at most
  // `max_samples` segments per category, deterministically.
  void fit(const std::function<void(const std::function<void(const float*)>&)>& for_each_segment,
           size_t max_samples = 2000000);

  SegmentLabel label(const float* scores, uint64_t segment_key) const;
  // Context tags of a document from its metadata, in the order of the context
  // rules, then its band tags in the order of the band rules.
  std::vector<std::string> context_tags(const json& meta) const;
  // Every tag context_tags can return (context rules' tags, then every band of every band
  // rule), and whether there is any: what an objective must map to ids before the first batch.
  std::vector<std::string> document_tag_names() const;
  bool has_document_tags() const { return !config_.context.empty() || !config_.bands.empty(); }
  double threshold(size_t rule) const { return resolved_.at(rule); }
  const LabelingConfig& config() const { return config_; }
  size_t category_index(size_t rule) const { return category_index_.at(rule); }
  ordered_json describe() const;  // rules with resolved thresholds

 private:
  LabelingConfig config_;
  std::vector<std::string> categories_;
  std::vector<size_t> category_index_;
  std::vector<double> resolved_;
};

// The q-quantile (0..1) of `values` by linear interpolation (numpy's default); modifies order.
double quantile(std::vector<float>& values, double q);

}  // namespace prealign
