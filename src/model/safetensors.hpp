// Our own reader and writer of the safetensors format: u64 little-endian header
// length, JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}},
// then raw little-endian tensor data. We add "prealign.crc32" to the metadata so
// a corrupted (not only truncated) file is refused.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace prealign {

struct SafetensorsFile {
  std::map<std::string, torch::Tensor> tensors;  // CPU tensors
  std::map<std::string, std::string> metadata;
};

// Writes atomically. Supported dtypes: F32, F16, BF16, I64, I32, U8.
void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});
// Validates header, offsets, sizes and the CRC; any problem is an Error naming the file.
SafetensorsFile load_safetensors(const std::string& path);

}  // namespace prealign
