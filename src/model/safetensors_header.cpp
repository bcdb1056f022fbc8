#include "model/safetensors_header.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/json_io.hpp"

namespace prealign {

namespace {

const char* const kDamaged = "the file is damaged or not a safetensors file";

struct DtypeSize {
  const char* name;
  size_t bytes;
};
const DtypeSize kDtypes[] = {{"F32", 4}, {"F16", 2}, {"BF16", 2}, {"F64", 8}, {"I64", 8}, {"I32", 4}, {"U8", 1}};

// Parses and checks one header entry against the data section size.
SafetensorsEntry parse_entry(const std::string& path, const std::string& name, const json& e, uint64_t data_size) {
  const std::string what = "tensor \"" + name + "\": ";
  auto bad = [&](const std::string& why) { fail(path, what + why, kDamaged); };
  if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets"))
    bad("header entry needs dtype, shape and data_offsets");
  SafetensorsEntry out;
  out.name = name;
  const size_t elem = e["dtype"].is_string() ? safetensors_dtype_size(e["dtype"].get<std::string>()) : 0;
  if (elem == 0)
    fail(path, what + "unsupported dtype " + e["dtype"].dump() + " (supported: F32, F16, BF16, F64, I64, I32, U8)",
         "quantized or 8-bit weights cannot be read: use a float release of the model, or convert it first");
  out.dtype = e["dtype"].get<std::string>();
  if (!e["shape"].is_array()) bad("shape is not an array");
  uint64_t numel = 1;
  for (const auto& s : e["shape"]) {
    if (!s.is_number_unsigned()) bad("shape " + e["shape"].dump() + " has a non-integer or negative dimension");
    const uint64_t dim = s.get<uint64_t>();
    if (dim != 0 && numel > data_size / dim) bad("shape " + e["shape"].dump() + " is larger than the file");
    numel *= dim;
    out.shape.push_back(static_cast<int64_t>(dim));
  }
  const auto& off = e["data_offsets"];
  if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
    bad("data_offsets must be [begin, end]");
  out.begin = off[0].get<uint64_t>();
  out.end = off[1].get<uint64_t>();
  if (out.begin > out.end || out.end > data_size)
    bad("data_offsets " + off.dump() + " outside the data section (" + std::to_string(data_size) +
        " bytes): truncated file?");
  // numel <= data_size here, so numel * elem cannot overflow for any real file size.
  const uint64_t expect = numel * elem;
  if (out.end - out.begin != expect)
    bad("data_offsets " + off.dump() + " span " + std::to_string(out.end - out.begin) + " bytes but shape " +
        e["shape"].dump() + " of " + out.dtype + " needs " + std::to_string(expect));
  return out;
}

// Tensors must tile the data section exactly: no overlap, no gap, nothing after.
void check_tiling(std::vector<SafetensorsEntry>& entries, uint64_t data_size, const std::string& path) {
  std::sort(entries.begin(), entries.end(), [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t pos = 0;
  for (const auto& e : entries) {
    if (e.begin != pos)
      fail(path, "tensor \"" + e.name + "\": data_offsets begin at " + std::to_string(e.begin) + ", expected " +
                     std::to_string(pos) + (e.begin < pos ? " (overlaps the previous tensor)" : " (gap)"),
           "the file is damaged");
    pos = e.end;
  }
  if (pos != data_size)
    fail(path, "data section is " + std::to_string(data_size) + " bytes but the tensors cover " + std::to_string(pos),
         pos > data_size ? "the file is truncated" : "the file has trailing bytes or is damaged");
}

uint64_t header_length(std::string_view prefix) {
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t(static_cast<unsigned char>(prefix[static_cast<size_t>(i)])) << (8 * i);
  return n;
}

void check_length(uint64_t n, uint64_t file_size, const std::string& path) {
  if (file_size < 8)
    fail(path, "file is " + std::to_string(file_size) + " bytes, too short for a safetensors header",
         "the file is truncated");
  if (n > kMaxSafetensorsHeaderBytes || n > file_size - 8)
    fail(path, "header length " + std::to_string(n) + " is impossible for a " + std::to_string(file_size) +
                   "-byte file",
         "the file is truncated or not a safetensors file");
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

}  // namespace

size_t safetensors_dtype_size(const std::string& dtype) {
  for (const auto& d : kDtypes)
    if (dtype == d.name) return d.bytes;
  return 0;
}

SafetensorsHeader parse_safetensors_header(std::string_view prefix, uint64_t file_size, const std::string& path) {
  const uint64_t n = prefix.size() >= 8 ? header_length(prefix) : 0;
  check_length(n, file_size, path);
  if (prefix.size() < 8 + n) fail(path, "read error in header", "the file is truncated");
  const json header = parse_json(prefix.substr(8, n), path + " (header)");
  if (!header.is_object()) fail(path, "header is not a JSON object", "the file is damaged");

  SafetensorsHeader out;
  out.data_offset = 8 + n;
  out.data_size = file_size - 8 - n;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it.value().is_object()) fail(path, "__metadata__ is not an object", kDamaged);
      for (auto m = it.value().begin(); m != it.value().end(); ++m) {
        if (!m.value().is_string()) fail(path, "__metadata__ \"" + m.key() + "\" is not a string", kDamaged);
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    out.entries.push_back(parse_entry(path, it.key(), it.value(), out.data_size));
  }
  check_tiling(out.entries, out.data_size, path);
  return out;
}

SafetensorsHeader read_safetensors_header(const std::string& path) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) fail(path, "cannot open: " + std::string(std::strerror(errno)), "check the path");
  const uint64_t size = file_size(path);
  check_length(0, size, path);
  std::string prefix(8, '\0');
  if (std::fread(prefix.data(), 1, 8, f.get()) != 8) fail(path, "read error", "the file is truncated");
  const uint64_t n = header_length(prefix);
  check_length(n, size, path);  // before allocating n bytes
  prefix.resize(8 + n);
  if (std::fread(prefix.data() + 8, 1, n, f.get()) != n) fail(path, "read error in header", "the file is truncated");
  return parse_safetensors_header(prefix, size, path);
}

}  // namespace prealign
