// `prealign dataset merge`: the parts that the jobs of an array wrote with
// `tokenize --shard i/n` become one dataset without copying a shard — the new
// dataset.json lists the parts' shard files by relative path. The parts must
// agree on what makes them one dataset: the tokenizer, the score categories,
// the train/validation split rule (seed and fraction, by document id), and,
// when they carry part numbers, be exactly the parts 0..n-1 of one array.
#pragma once
#include <string>
#include <vector>

#include "core/json_io.hpp"

namespace prealign {

struct MergeResult {
  uint64_t train_shards = 0, val_shards = 0, train_tokens = 0, val_tokens = 0, documents = 0;
};

// Writes `out` (a new directory, published atomically) from the part directories.
MergeResult merge_datasets(const std::vector<std::string>& parts, const std::string& out);

}  // namespace prealign
