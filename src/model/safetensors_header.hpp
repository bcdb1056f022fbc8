// The safetensors header, read and checked without libtorch: u64 little-endian
// header length, then the JSON header {name: {dtype, shape, data_offsets},
// "__metadata__": {...}}. A checkpoint's config is compared with it before any
// tensor is allocated, and the fuzz target reaches it without torch.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace prealign {

struct SafetensorsEntry {
  std::string name;
  std::string dtype;           // F32, F16, BF16, F64, I64, I32, U8
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // offsets into the data section, [begin, end)
};

struct SafetensorsHeader {
  std::vector<SafetensorsEntry> entries;  // sorted by offset; they tile the data section exactly
  std::map<std::string, std::string> metadata;
  uint64_t data_offset = 0;  // where the data section starts in the file (8 + header length)
  uint64_t data_size = 0;
};

inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100u << 20;  // the reference implementation's limit

// Bytes per element of a supported dtype name, 0 for an unsupported one.
size_t safetensors_dtype_size(const std::string& dtype);

// Parses the header at the start of a file of `file_size` bytes; `prefix` holds
// at least the first 8 + header-length bytes (more is ignored). Every problem —
// impossible length, bad JSON, unknown dtype, shapes that disagree with their
// offsets, overlaps, gaps, a data section the tensors do not cover — is an
// Error naming `path`.
SafetensorsHeader parse_safetensors_header(std::string_view prefix, uint64_t file_size, const std::string& path);
// Reads only the header of the file at `path`.
SafetensorsHeader read_safetensors_header(const std::string& path);

}  // namespace prealign
