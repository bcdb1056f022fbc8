// The weights of a Hugging Face model directory: model.safetensors, or the shards
// model.safetensors.index.json maps each tensor to. Every header is read and
// checked when the set is opened; tensor data is read one tensor at a time with
// pread, converted to float32 as it arrives, so importing never holds a file, or
// a tensor in its stored dtype, beside the float32 weights.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "model/safetensors_header.hpp"

namespace prealign {

class HfWeights {
 public:
  // Refuses (Error naming the file) a directory with neither file, an index that
  // names a missing shard or a tensor its shard lacks, or a damaged header.
  static HfWeights open(const std::string& dir);

  struct Stored {
    std::string file;  // path of the shard holding it
    SafetensorsEntry entry;
    uint64_t data_offset = 0;  // of the shard's data section
  };
  const std::map<std::string, Stored>& tensors() const { return tensors_; }
  const Stored* find(const std::string& name) const;
  const std::vector<std::string>& files() const { return files_; }
  // An Error naming the file unless tensor `name` is stored as F32, F16 or BF16.
  void require_float(const std::string& name) const;

  // Reads tensor `name` into `out`: float32, contiguous, on the CPU, with the
  // stored shape. F32 goes straight into `out`; F16 and BF16 through a buffer of
  // this tensor only. Other dtypes and non-finite values are an Error naming the file.
  void read_float32(const std::string& name, torch::Tensor out) const;

 private:
  std::map<std::string, Stored> tensors_;
  std::vector<std::string> files_;
};

}  // namespace prealign
