#include "model/safetensors.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/json_io.hpp"

namespace prealign {

namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian; add byte swapping");

constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // the reference implementation's limit
const char* const kCrcKey = "prealign.crc32";

struct DtypeInfo {
  const char* name;
  torch::ScalarType type;
};
const DtypeInfo kDtypes[] = {
    {"F32", torch::kFloat32}, {"F16", torch::kFloat16}, {"BF16", torch::kBFloat16}, {"F64", torch::kFloat64},
    {"I64", torch::kInt64},   {"I32", torch::kInt32},   {"U8", torch::kUInt8},
};

const char* dtype_name(torch::ScalarType t) {
  for (const auto& d : kDtypes)
    if (d.type == t) return d.name;
  return nullptr;
}

bool dtype_from_name(const std::string& name, torch::ScalarType* t) {
  for (const auto& d : kDtypes)
    if (name == d.name) return *t = d.type, true;
  return false;
}

uint32_t crc_update(uint32_t crc, const void* data, size_t n) {
  auto* p = static_cast<const Bytef*>(data);
  while (n > 0) {  // zlib takes uInt lengths
    uInt chunk = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
    crc = static_cast<uint32_t>(::crc32(crc, p, chunk));
    p += chunk;
    n -= chunk;
  }
  return crc;
}

uint64_t tensor_bytes(const torch::Tensor& t) { return uint64_t(t.numel()) * t.element_size(); }

struct Entry {
  std::string name;
  torch::ScalarType type;
  std::vector<int64_t> shape;
  uint64_t begin, end;
};

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

// Parses and checks one header entry against the data section size.
Entry parse_entry(const std::string& path, const std::string& name, const json& e, uint64_t data_size) {
  const std::string what = "tensor \"" + name + "\": ";
  auto bad = [&](const std::string& why) { fail(path, what + why, "the file is damaged or not a safetensors file"); };
  if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets"))
    bad("header entry needs dtype, shape and data_offsets");
  Entry out{name, torch::kFloat32, {}, 0, 0};
  if (!e["dtype"].is_string() || !dtype_from_name(e["dtype"].get<std::string>(), &out.type))
    bad("unsupported dtype " + e["dtype"].dump() + " (supported: F32, F16, BF16, F64, I64, I32, U8)");
  if (!e["shape"].is_array()) bad("shape is not an array");
  uint64_t numel = 1;
  for (const auto& s : e["shape"]) {
    if (!s.is_number_unsigned()) bad("shape " + e["shape"].dump() + " has a non-integer or negative dimension");
    uint64_t dim = s.get<uint64_t>();
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
  uint64_t expect = numel * c10::elementSize(out.type);
  if (out.end - out.begin != expect)
    bad("data_offsets " + off.dump() + " span " + std::to_string(out.end - out.begin) + " bytes but shape " +
        e["shape"].dump() + " of " + e["dtype"].get<std::string>() + " needs " + std::to_string(expect));
  return out;
}

}  // namespace

void save_safetensors(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  // CPU, contiguous copies only where needed; the CRC goes in the header, so
  // the data is walked once before writing.
  std::vector<torch::Tensor> data;
  data.reserve(tensors.size());
  std::set<std::string> names;
  uint32_t crc = static_cast<uint32_t>(::crc32(0L, Z_NULL, 0));
  for (const auto& [name, t] : tensors) {
    if (name == "__metadata__" || !names.insert(name).second)
      fail(path, "tensor name \"" + name + "\" is reserved or used twice");
    if (!t.defined()) fail(path, "tensor \"" + name + "\" is undefined");
    if (!dtype_name(t.scalar_type()))
      fail(path, "tensor \"" + name + "\" has unsupported dtype " + std::string(c10::toString(t.scalar_type())));
    data.push_back(t.detach().to(torch::kCPU).contiguous());
    if (data.back().numel() > 0) crc = crc_update(crc, data.back().data_ptr(), tensor_bytes(data.back()));
  }

  ordered_json header = ordered_json::object();
  ordered_json meta = ordered_json::object();
  for (const auto& [k, v] : metadata) meta[k] = v;
  meta[kCrcKey] = std::to_string(crc);
  header["__metadata__"] = meta;
  uint64_t offset = 0;
  for (size_t i = 0; i < data.size(); ++i) {
    const auto& t = data[i];
    uint64_t n = tensor_bytes(t);
    header[tensors[i].first] = {{"dtype", dtype_name(t.scalar_type())},
                                {"shape", t.sizes().vec()},
                                {"data_offsets", {offset, offset + n}}};
    offset += n;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // data starts 8-byte aligned

  AtomicFile out(path);
  unsigned char len[8];
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(uint64_t(text.size()) >> (8 * i));
  out.write(len, 8);
  out.write(text);
  for (const auto& t : data)
    if (t.numel() > 0) out.write(t.data_ptr(), tensor_bytes(t));
  out.commit();
}

SafetensorsFile load_safetensors(const std::string& path) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) fail(path, "cannot open: " + std::string(std::strerror(errno)), "check the path");
  const uint64_t size = file_size(path);
  if (size < 8) fail(path, "file is " + std::to_string(size) + " bytes, too short for a safetensors header",
                     "the file is truncated");
  unsigned char len[8];
  if (std::fread(len, 1, 8, f.get()) != 8) fail(path, "read error");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t(len[i]) << (8 * i);
  if (n > kMaxHeaderBytes || n > size - 8)
    fail(path, "header length " + std::to_string(n) + " is impossible for a " + std::to_string(size) + "-byte file",
         "the file is truncated or not a safetensors file");
  std::string text(n, '\0');
  if (std::fread(text.data(), 1, n, f.get()) != n) fail(path, "read error in header");
  json header;
  try {
    header = json::parse(text);
  } catch (const json::exception& e) {
    fail(path, std::string("header is not valid JSON (") + e.what() + ")", "the file is damaged");
  }
  if (!header.is_object()) fail(path, "header is not a JSON object", "the file is damaged");

  SafetensorsFile out;
  const uint64_t data_size = size - 8 - n;
  std::vector<Entry> entries;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it.value().is_object()) fail(path, "__metadata__ is not an object");
      for (auto m = it.value().begin(); m != it.value().end(); ++m) {
        if (!m.value().is_string()) fail(path, "__metadata__ \"" + m.key() + "\" is not a string");
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(path, it.key(), it.value(), data_size));
  }
  // Tensors must tile the data section exactly: no overlap, no gap, nothing after.
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
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

  uint32_t crc = static_cast<uint32_t>(::crc32(0L, Z_NULL, 0));
  for (const auto& e : entries) {
    torch::Tensor t = torch::empty(e.shape, torch::TensorOptions().dtype(e.type));
    uint64_t bytes = e.end - e.begin;
    if (bytes > 0) {
      if (std::fread(t.data_ptr(), 1, bytes, f.get()) != bytes)
        fail(path, "tensor \"" + e.name + "\": read error or truncated data", "the file is truncated");
      crc = crc_update(crc, t.data_ptr(), bytes);
    }
    out.tensors[e.name] = t;
  }
  auto it = out.metadata.find(kCrcKey);
  if (it != out.metadata.end() && it->second != std::to_string(crc))
    fail(path, "checksum mismatch (stored " + it->second + ", computed " + std::to_string(crc) + ")",
         "the file is corrupted; restore it from a backup or an earlier checkpoint");
  return out;
}

}  // namespace prealign
