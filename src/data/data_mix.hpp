// `train --data`: one dataset directory, or several with sampling weights,
// "a=0.9,b=0.1" — documents are drawn from each in proportion to its weight (the
// data-mix control used to upsample, e.g., synthetic aligned-AI documents). The
// datasets must share the tokenizer and the score categories.
#pragma once
#include <string>
#include <vector>

#include "data/batch_stream.hpp"
#include "data/shard.hpp"

namespace prealign {

struct DataMix {
  std::vector<Dataset> datasets;
  std::vector<std::string> names;  // as written in the spec (the directory)
  std::vector<double> weights;     // normalised to sum to 1

  static DataMix open(const std::string& spec);
  const Dataset& first() const { return datasets.front(); }
  bool mixed() const { return datasets.size() > 1; }
  // Every train and validation shard of every dataset as one dataset: what the
  // labeler's percentiles are fitted on.
  Dataset combined() const;
  std::vector<StreamSource> train_sources() const;
  uint64_t train_tokens() const;
  bool has_validation() const;
};

}  // namespace prealign
