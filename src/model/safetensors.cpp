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
#include "model/safetensors_header.hpp"

namespace prealign {

namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian; add byte swapping");

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

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

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
  // The header is checked whole (offsets tile a data section of the file's real
  // size) before anything is allocated, so no allocation exceeds the file.
  const SafetensorsHeader header = read_safetensors_header(path);
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f || ::fseeko(f.get(), static_cast<off_t>(header.data_offset), SEEK_SET) != 0)
    fail(path, "cannot open: " + std::string(std::strerror(errno)), "check the path");
  SafetensorsFile out;
  out.metadata = header.metadata;
  uint32_t crc = static_cast<uint32_t>(::crc32(0L, Z_NULL, 0));
  for (const SafetensorsEntry& e : header.entries) {
    torch::ScalarType type = torch::kFloat32;
    dtype_from_name(e.dtype, &type);  // the header parser accepted only names of kDtypes
    torch::Tensor t = torch::empty(e.shape, torch::TensorOptions().dtype(type));
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
