// Band tags (seed 004): an ordered set of tags, one per range of a numeric
// document field (an estimated IQ or education level, a quality score), such
// as <iq_130_145>. A tagset declares them: marker tags of one category whose
// attributes carry "band": [low, high]. Labeling puts the band of a document's
// value after BOS like a context tag; generation can start after any of them.
#pragma once
#include <string>
#include <vector>

#include "tokenizer/tagset.hpp"

namespace prealign {

struct ValueBand {
  std::string tag;
  double low = 0, high = 0;  // the band holds low <= value < high (the last band also holds its high)
};

class BandSet {
 public:
  // The band tags of `category` in `tagset`, ordered by their low edge. Checked:
  // at least one, every tag of the category is a band marker with finite
  // low < high, and the bands leave no gap and do not overlap. Errors name `where`.
  static BandSet from_tagset(const Tagset& tagset, const std::string& category, const std::string& where);
  // Every band set a tagset declares (the categories with a "band" attribute), checked as above.
  static std::vector<BandSet> all_in(const Tagset& tagset, const std::string& where);

  // The band holding `value`, or nullptr when it lies outside [low(), high()] or is not finite.
  const ValueBand* find(double value) const;
  const std::string& category() const { return category_; }
  const std::vector<ValueBand>& bands() const { return bands_; }
  double low() const { return bands_.front().low; }
  double high() const { return bands_.back().high; }

 private:
  std::string category_;
  std::vector<ValueBand> bands_;
};

}  // namespace prealign
