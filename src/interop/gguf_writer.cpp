#include "interop/gguf_writer.hpp"

#include <algorithm>
#include <cstring>

#include "core/error.hpp"
#include "core/files.hpp"

namespace prealign {

namespace {

template <class T>
void put(std::string& out, T value) {  // little-endian hosts only (x86-64, aarch64)
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

void put_string(std::string& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  out += s;
}

uint64_t padding_to(uint64_t n, uint64_t alignment) { return (alignment - n % alignment) % alignment; }

}  // namespace

uint64_t ggml_row_bytes(GgmlType type, uint64_t n) {
  switch (type) {
    case GgmlType::kF32: return 4 * n;
    case GgmlType::kF16: return 2 * n;
    case GgmlType::kQ8_0: return n / 32 * 34;  // per 32 values: f16 scale + 32 int8
  }
  return 0;
}

const char* ggml_type_name(GgmlType type) {
  switch (type) {
    case GgmlType::kF32: return "F32";
    case GgmlType::kF16: return "F16";
    case GgmlType::kQ8_0: return "Q8_0";
  }
  return "?";
}

void GgufWriter::begin_key(const std::string& key, GgufValueType type) {
  if (std::find(keys_.begin(), keys_.end(), key) != keys_.end())
    fail("gguf key " + key, "given twice", "a GGUF file holds each key once");
  keys_.push_back(key);
  put_string(kv_, key);
  put<uint32_t>(kv_, static_cast<uint32_t>(type));
}

void GgufWriter::add_uint32(const std::string& key, uint32_t value) {
  begin_key(key, GgufValueType::kUint32);
  put(kv_, value);
}

void GgufWriter::add_int32(const std::string& key, int32_t value) {
  begin_key(key, GgufValueType::kInt32);
  put(kv_, value);
}

void GgufWriter::add_float32(const std::string& key, float value) {
  begin_key(key, GgufValueType::kFloat32);
  put(kv_, value);
}

void GgufWriter::add_bool(const std::string& key, bool value) {
  begin_key(key, GgufValueType::kBool);
  put<uint8_t>(kv_, value ? 1 : 0);
}

void GgufWriter::add_string(const std::string& key, const std::string& value) {
  begin_key(key, GgufValueType::kString);
  put_string(kv_, value);
}

void GgufWriter::add_string_array(const std::string& key, const std::vector<std::string>& values) {
  begin_key(key, GgufValueType::kArray);
  put<uint32_t>(kv_, static_cast<uint32_t>(GgufValueType::kString));
  put<uint64_t>(kv_, values.size());
  for (const std::string& v : values) put_string(kv_, v);
}

void GgufWriter::add_float32_array(const std::string& key, const std::vector<float>& values) {
  begin_key(key, GgufValueType::kArray);
  put<uint32_t>(kv_, static_cast<uint32_t>(GgufValueType::kFloat32));
  put<uint64_t>(kv_, values.size());
  for (float v : values) put(kv_, v);
}

void GgufWriter::add_int32_array(const std::string& key, const std::vector<int32_t>& values) {
  begin_key(key, GgufValueType::kArray);
  put<uint32_t>(kv_, static_cast<uint32_t>(GgufValueType::kInt32));
  put<uint64_t>(kv_, values.size());
  for (int32_t v : values) put(kv_, v);
}

void GgufWriter::add_tensor(const std::string& name, const std::vector<uint64_t>& ne, GgmlType type,
                            std::function<std::string()> encode) {
  const std::string where = "gguf tensor " + name;
  for (const TensorEntry& t : tensors_)
    if (t.name == name) fail(where, "given twice", "a GGUF file holds each tensor once");
  if (ne.empty() || ne.size() > 4) fail(where, "a tensor has 1 to 4 dimensions");
  if (type == GgmlType::kQ8_0 && ne[0] % 32 != 0)
    fail(where, "Q8_0 needs rows of a multiple of 32 values, got " + std::to_string(ne[0]), "store it as F16 or F32");
  uint64_t bytes = ggml_row_bytes(type, ne[0]);
  for (size_t i = 1; i < ne.size(); ++i) bytes *= ne[i];
  tensors_.push_back({name, ne, type, bytes, data_bytes_, std::move(encode)});
  data_bytes_ += bytes + padding_to(bytes, kAlignment);
}

void GgufWriter::write(const std::string& path) const {
  std::string head;
  head.append("GGUF", 4);
  put<uint32_t>(head, kVersion);
  put<uint64_t>(head, tensors_.size());
  put<uint64_t>(head, keys_.size() + 1);
  head += kv_;
  put_string(head, "general.alignment");
  put<uint32_t>(head, static_cast<uint32_t>(GgufValueType::kUint32));
  put<uint32_t>(head, kAlignment);
  for (const TensorEntry& t : tensors_) {
    put_string(head, t.name);
    put<uint32_t>(head, static_cast<uint32_t>(t.ne.size()));
    for (uint64_t n : t.ne) put<uint64_t>(head, n);
    put<uint32_t>(head, static_cast<uint32_t>(t.type));
    put<uint64_t>(head, t.offset);
  }
  head.append(padding_to(head.size(), kAlignment), '\0');

  AtomicFile out(path);
  out.write(head);
  for (const TensorEntry& t : tensors_) {
    const std::string data = t.encode();
    if (data.size() != t.bytes)
      fail(path, "tensor " + t.name + " encoded to " + std::to_string(data.size()) + " bytes, its shape and type " +
                     ggml_type_name(t.type) + " imply " + std::to_string(t.bytes),
           "this is a bug in the exporter; please report it");
    out.write(data);
    out.write(std::string(padding_to(data.size(), kAlignment), '\0'));
  }
  out.commit();
}

}  // namespace prealign
