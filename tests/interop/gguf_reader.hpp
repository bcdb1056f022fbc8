// A minimal GGUF reader for the tests, written from the GGUF specification
// (ggml's docs/gguf.md) and independent of src/interop/gguf_writer: it parses
// every value type, checks the layout rules a loader relies on (magic, version,
// aligned tensor offsets inside the file, no overlaps) and gives raw tensor bytes.
#pragma once
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace prealign::testing {

struct GgufValue {
  uint32_t type = 0;       // gguf_metadata_value_type
  uint32_t item_type = 0;  // for arrays
  std::vector<uint64_t> u;  // unsigned integers and bools, per item
  std::vector<int64_t> i;   // signed integers, per item
  std::vector<double> f;    // floats, per item
  std::vector<std::string> s;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<uint64_t> ne;
  uint32_t type = 0;
  uint64_t offset = 0;  // relative to the data section
};

struct GgufRead {
  uint32_t version = 0;
  std::vector<std::string> key_order;
  std::map<std::string, GgufValue> kv;
  std::vector<GgufTensorInfo> tensors;
  uint64_t alignment = 32;
  uint64_t data_start = 0;  // absolute
  std::string bytes;        // the whole file

  const GgufValue& at(const std::string& key) const {
    auto it = kv.find(key);
    if (it == kv.end()) throw std::runtime_error("no key " + key);
    return it->second;
  }
  const GgufTensorInfo& tensor(const std::string& name) const {
    for (const auto& t : tensors)
      if (t.name == name) return t;
    throw std::runtime_error("no tensor " + name);
  }
  // Bytes per element run: F32 4, F16 2; Q8_0 34 per 32.
  static uint64_t nbytes(const GgufTensorInfo& t) {
    uint64_t n = 1;
    for (uint64_t d : t.ne) n *= d;
    if (t.type == 0) return 4 * n;
    if (t.type == 1) return 2 * n;
    if (t.type == 8) return n / 32 * 34;
    throw std::runtime_error("unexpected ggml type " + std::to_string(t.type));
  }
  std::string data(const GgufTensorInfo& t) const { return bytes.substr(data_start + t.offset, nbytes(t)); }
  std::vector<float> f32(const std::string& name) const {
    const GgufTensorInfo& t = tensor(name);
    if (t.type != 0) throw std::runtime_error(name + " is not F32");
    std::string d = data(t);
    std::vector<float> out(d.size() / 4);
    std::memcpy(out.data(), d.data(), d.size());
    return out;
  }
};

class GgufParser {
 public:
  explicit GgufParser(std::string bytes) : b_(std::move(bytes)) {}

  GgufRead parse() {
    GgufRead r;
    if (b_.compare(0, 4, "GGUF") != 0) throw std::runtime_error("bad magic");
    pos_ = 4;
    r.version = get<uint32_t>();
    const uint64_t n_tensors = get<uint64_t>(), n_kv = get<uint64_t>();
    for (uint64_t k = 0; k < n_kv; ++k) {
      std::string key = str();
      if (r.kv.count(key)) throw std::runtime_error("duplicate key " + key);
      GgufValue v;
      v.type = get<uint32_t>();
      if (v.type == 9) {
        v.item_type = get<uint32_t>();
        const uint64_t n = get<uint64_t>();
        for (uint64_t j = 0; j < n; ++j) item(v.item_type, v);
      } else {
        item(v.type, v);
      }
      r.key_order.push_back(key);
      r.kv[key] = std::move(v);
    }
    if (r.kv.count("general.alignment")) r.alignment = r.kv["general.alignment"].u.at(0);
    for (uint64_t t = 0; t < n_tensors; ++t) {
      GgufTensorInfo info;
      info.name = str();
      const uint32_t dims = get<uint32_t>();
      for (uint32_t d = 0; d < dims; ++d) info.ne.push_back(get<uint64_t>());
      info.type = get<uint32_t>();
      info.offset = get<uint64_t>();
      r.tensors.push_back(info);
    }
    r.data_start = (pos_ + r.alignment - 1) / r.alignment * r.alignment;
    // The layout rules: aligned offsets, in the file, no two tensors overlapping.
    std::map<uint64_t, uint64_t> spans;
    for (const auto& t : r.tensors) {
      if (t.offset % r.alignment) throw std::runtime_error(t.name + " offset not aligned");
      if (r.data_start + t.offset + GgufRead::nbytes(t) > b_.size()) throw std::runtime_error(t.name + " past the end");
      spans[t.offset] = t.offset + GgufRead::nbytes(t);
    }
    uint64_t end = 0;
    for (const auto& [begin, stop] : spans) {
      if (begin < end) throw std::runtime_error("overlapping tensors");
      end = stop;
    }
    r.bytes = std::move(b_);
    return r;
  }

 private:
  template <class T>
  T get() {
    if (pos_ + sizeof(T) > b_.size()) throw std::runtime_error("truncated");
    T v;
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string str() {
    const uint64_t n = get<uint64_t>();
    if (pos_ + n > b_.size()) throw std::runtime_error("truncated string");
    std::string s = b_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  void item(uint32_t type, GgufValue& v) {
    switch (type) {
      case 0: v.u.push_back(get<uint8_t>()); break;
      case 1: v.i.push_back(get<int8_t>()); break;
      case 2: v.u.push_back(get<uint16_t>()); break;
      case 3: v.i.push_back(get<int16_t>()); break;
      case 4: v.u.push_back(get<uint32_t>()); break;
      case 5: v.i.push_back(get<int32_t>()); break;
      case 6: v.f.push_back(get<float>()); break;
      case 7: v.u.push_back(get<uint8_t>()); break;
      case 8: v.s.push_back(str()); break;
      case 10: v.u.push_back(get<uint64_t>()); break;
      case 11: v.i.push_back(get<int64_t>()); break;
      case 12: v.f.push_back(get<double>()); break;
      default: throw std::runtime_error("bad value type " + std::to_string(type));
    }
  }
  std::string b_;
  size_t pos_ = 0;
};

inline GgufRead read_gguf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return GgufParser(ss.str()).parse();
}

}  // namespace prealign::testing
