// The safetensors header parser (model/safetensors_header.hpp): the input is a
// whole file. An accepted header describes tensors that tile the data section
// exactly, each as many bytes as its shape and dtype need.
#include <cstdint>
#include <string_view>

#include "fuzz_util.hpp"
#include "model/safetensors_header.hpp"

using namespace prealign;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::refusing_is_fine([&] {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    const SafetensorsHeader h = parse_safetensors_header(bytes, size, "model.safetensors");
    fuzz::check(h.data_offset + h.data_size == size);
    uint64_t pos = 0;
    for (const SafetensorsEntry& e : h.entries) {
      fuzz::check(e.begin == pos && e.end >= e.begin);
      uint64_t n = safetensors_dtype_size(e.dtype);
      for (int64_t d : e.shape) n *= static_cast<uint64_t>(d);
      fuzz::check(n == e.end - e.begin);
      pos = e.end;
    }
    fuzz::check(pos == h.data_size);
  });
  return 0;
}
