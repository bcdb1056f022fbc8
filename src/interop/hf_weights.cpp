#include "interop/hf_weights.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/json_io.hpp"

namespace prealign {

namespace {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "safetensors data is little-endian; add byte swapping");

const char* const kSingle = "model.safetensors";
const char* const kIndex = "model.safetensors.index.json";

// The dtypes import converts; anything else is refused with the reason.
torch::ScalarType float_dtype(const std::string& dtype, const std::string& where, const std::string& name) {
  if (dtype == "F32") return torch::kFloat32;
  if (dtype == "F16") return torch::kFloat16;
  if (dtype == "BF16") return torch::kBFloat16;
  fail(where, "tensor \"" + name + "\" has dtype " + dtype + ": prealign imports F32, F16 and BF16 weights only",
       dtype == "F64" ? "convert the model to float32 (or bfloat16) first"
                      : "integer tensors are not model weights prealign knows; is this a quantized model? use its "
                        "float release");
}

// A shard file name from the index: a plain name inside the directory, nothing else.
std::string shard_path(const std::string& dir, const std::string& name, const std::string& index_path) {
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..")
    fail(index_path, "weight_map names the file \"" + name + "\", which is not a file name in the model directory",
         "shards must sit beside the index");
  return dir + "/" + name;
}

void pread_all(int fd, void* buffer, uint64_t bytes, uint64_t offset, const std::string& path) {
  auto* p = static_cast<char*>(buffer);
  while (bytes > 0) {
    const ssize_t n = ::pread(fd, p, std::min<uint64_t>(bytes, uint64_t(1) << 30), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail(path, n == 0 ? "truncated while reading tensor data" : "read error: " + std::string(std::strerror(errno)));
    p += n;
    bytes -= static_cast<uint64_t>(n);
    offset += static_cast<uint64_t>(n);
  }
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

HfWeights HfWeights::open(const std::string& dir) {
  HfWeights w;
  const std::string single = dir + "/" + kSingle, index_path = dir + "/" + kIndex;
  if (file_exists(single)) {  // as transformers does: the single file first
    const SafetensorsHeader h = read_safetensors_header(single);
    w.files_.push_back(single);
    for (const SafetensorsEntry& e : h.entries) w.tensors_[e.name] = {single, e, h.data_offset};
    return w;
  }
  if (!file_exists(index_path)) {
    const bool pickled = file_exists(dir + "/pytorch_model.bin") || file_exists(dir + "/pytorch_model.bin.index.json");
    fail(dir, std::string("no ") + kSingle + " or " + kIndex,
         pickled ? "only pickled PyTorch weights (pytorch_model.bin) are here: prealign reads safetensors only; save "
                   "the model with safe_serialization=True"
                 : "pass a Hugging Face model directory (config.json, tokenizer.model, model*.safetensors)");
  }
  const json index = read_json_file(index_path);
  require(index.is_object() && index.contains("weight_map") && index["weight_map"].is_object(), index_path,
          "no \"weight_map\" object", "a sharded model's index maps every tensor name to its shard file");
  std::map<std::string, SafetensorsHeader> headers;  // by shard path
  for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
    require(it.value().is_string(), index_path, "weight_map[\"" + it.key() + "\"] is not a file name");
    const std::string path = shard_path(dir, it.value().get<std::string>(), index_path);
    auto h = headers.find(path);
    if (h == headers.end()) {
      if (!file_exists(path))
        fail(path, "missing: " + index_path + " names it for tensor \"" + it.key() + "\"",
             "copy every shard of the model (model-0000N-of-0000M.safetensors)");
      h = headers.emplace(path, read_safetensors_header(path)).first;
      w.files_.push_back(path);
    }
    const SafetensorsEntry* found = nullptr;
    for (const SafetensorsEntry& e : h->second.entries)
      if (e.name == it.key()) found = &e;
    if (!found)
      fail(path, "has no tensor \"" + it.key() + "\", which " + index_path + " places in it",
           "the shards and the index come from different saves; copy the model again");
    w.tensors_[it.key()] = {path, *found, h->second.data_offset};
  }
  require(!w.tensors_.empty(), index_path, "weight_map is empty");
  return w;
}

void HfWeights::require_float(const std::string& name) const {
  const Stored* s = find(name);
  if (!s) fail(name, "no such tensor in the model's safetensors files");
  float_dtype(s->entry.dtype, s->file, name);
}

const HfWeights::Stored* HfWeights::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

void HfWeights::read_float32(const std::string& name, torch::Tensor out) const {
  const Stored* s = find(name);
  if (!s) fail(name, "no such tensor in the model's safetensors files");
  const torch::ScalarType type = float_dtype(s->entry.dtype, s->file, name);
  require(out.scalar_type() == torch::kFloat32 && out.is_contiguous() && out.device().is_cpu() &&
              out.sizes().vec() == s->entry.shape,
          s->file, "tensor \"" + name + "\": internal error, destination does not match the stored shape",
          "this is a bug in prealign");
  Fd f{::open(s->file.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) fail(s->file, "cannot open: " + std::string(std::strerror(errno)));
  const uint64_t bytes = s->entry.end - s->entry.begin, offset = s->data_offset + s->entry.begin;
  if (type == torch::kFloat32) {
    if (bytes > 0) pread_all(f.fd, out.data_ptr(), bytes, offset, s->file);
  } else {
    torch::Tensor stored = torch::empty(s->entry.shape, torch::TensorOptions().dtype(type));
    if (bytes > 0) pread_all(f.fd, stored.data_ptr(), bytes, offset, s->file);
    out.copy_(stored);  // the conversion; `stored` is freed on return
  }
  if (out.numel() > 0 && !torch::isfinite(out).all().item<bool>())
    fail(s->file, "tensor \"" + name + "\" contains NaN or Inf", "the weights are damaged");
}

}  // namespace prealign
