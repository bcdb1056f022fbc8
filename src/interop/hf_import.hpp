// `prealign import hf`: a Hugging Face Llama model directory -> an ordinary
// prealign checkpoint (model/checkpoint.hpp) with the tagset's tags added.
//
// The tags become CONTROL pieces appended to the SentencePiece model, so every
// old id keeps its meaning and text can never produce a tag; their embedding (and
// untied output) rows start as the mean of the existing rows plus small Gaussian
// noise, PHF's recipe for tags a pretrained model never saw (as `train
// --init-from` does for the tags its objective uses). Tensors are read one at a
// time and converted to float32 as they arrive; everything is checked before the
// checkpoint is written, and it is written through a staging directory, so a
// refused import leaves nothing behind.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "model/config.hpp"
#include "tokenizer/tagset.hpp"

namespace prealign {

struct HfImportOptions {
  double noise = 0.01;  // std of the noise added to the mean row of each new tag
  uint64_t seed = 1234;
  bool force = false;   // replace an existing output directory
};

struct HfImportResult {
  ModelConfig config;                   // of the written checkpoint (vocabulary with the tags)
  std::string torch_dtype;              // as config.json declared it
  std::vector<std::string> weight_files;
  int appended_tags = 0, existing_tags = 0;
  bool add_dummy_prefix = false;
};

HfImportResult import_hf(const std::string& dir, const Tagset& tagset, const std::string& out,
                         const HfImportOptions& options = {});

}  // namespace prealign
