// A writer of GGUF v3 files, the format llama.cpp loads: typed key/values,
// then tensor infos, then the tensor data, each tensor at an aligned offset.
//   "GGUF" u32 version=3 | u64 n_tensors | u64 n_kv
//   n_kv x   (string key, u32 value type, value)
//   n_tensors x (string name, u32 n_dims, u64 ne[n_dims], u32 ggml type, u64 offset)
//   padding to `general.alignment` | tensor data, each padded to the alignment
// Strings are u64 length + bytes (no NUL); arrays are u32 item type + u64 count
// + items; everything little-endian. ne[0] is the innermost (contiguous)
// dimension, so a row-major torch (rows, cols) matrix is ne = {cols, rows}.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace prealign {

// GGUF metadata value types (the spec's gguf_metadata_value_type).
enum class GgufValueType : uint32_t {
  kUint8 = 0, kInt8 = 1, kUint16 = 2, kInt16 = 3, kUint32 = 4, kInt32 = 5, kFloat32 = 6,
  kBool = 7, kString = 8, kArray = 9, kUint64 = 10, kInt64 = 11, kFloat64 = 12
};

// The ggml tensor types this project writes (ggml_type values).
enum class GgmlType : uint32_t { kF32 = 0, kF16 = 1, kQ8_0 = 8 };

// Bytes one row of `n` elements takes in `type` (Q8_0: n must be a multiple of 32).
uint64_t ggml_row_bytes(GgmlType type, uint64_t n);
const char* ggml_type_name(GgmlType type);

class GgufWriter {
 public:
  static constexpr uint32_t kVersion = 3;
  static constexpr uint32_t kAlignment = 32;  // written as general.alignment

  // Key/values, written in the order they are added; a key given twice is an Error.
  void add_uint32(const std::string& key, uint32_t value);
  void add_int32(const std::string& key, int32_t value);
  void add_float32(const std::string& key, float value);
  void add_bool(const std::string& key, bool value);
  void add_string(const std::string& key, const std::string& value);
  void add_string_array(const std::string& key, const std::vector<std::string>& values);
  void add_float32_array(const std::string& key, const std::vector<float>& values);
  void add_int32_array(const std::string& key, const std::vector<int32_t>& values);

  // A tensor of shape `ne` (innermost first) and `type`; `encode` returns its
  // bytes when the data section is written, so only one tensor's encoding is
  // held at a time. Its length must equal the size `ne` and `type` imply.
  void add_tensor(const std::string& name, const std::vector<uint64_t>& ne, GgmlType type,
                  std::function<std::string()> encode);

  // Writes the file atomically (temporary sibling, fsync, rename).
  void write(const std::string& path) const;

 private:
  struct TensorEntry {
    std::string name;
    std::vector<uint64_t> ne;
    GgmlType type;
    uint64_t bytes, offset;
    std::function<std::string()> encode;
  };
  void begin_key(const std::string& key, GgufValueType type);

  std::string kv_;  // the serialized key/values
  std::vector<std::string> keys_;
  std::vector<TensorEntry> tensors_;
  uint64_t data_bytes_ = 0;  // data section size so far, padding included
};

}  // namespace prealign
