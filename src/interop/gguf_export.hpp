// A checkpoint as a GGUF file that llama.cpp loads as a `llama` model: the
// hyperparameters as llama.* keys, the SentencePiece vocabulary with its token
// types (tags are CONTROL, type 3), the weights under llama.cpp's tensor names
// with Q and K rows permuted to llama.cpp's RoPE layout, and the policy's
// start tags under prealign.* keys. Format and mapping: docs/formats.md "GGUF".
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "interop/gguf_writer.hpp"

namespace prealign {

enum class GgufFileType { kF32, kF16, kQ8_0 };

// "f32" | "f16" | "q8_0"; anything else is an Error naming --type.
GgufFileType parse_gguf_file_type(const std::string& name);
const char* gguf_file_type_name(GgufFileType type);

struct GgufExportOptions {
  std::string checkpoint;  // directory
  std::string out;         // .gguf path
  GgufFileType type = GgufFileType::kF32;
  std::string name;        // general.name; default: the checkpoint directory's name
};

struct GgufExportSummary {
  int tensors = 0;
  uint64_t bytes = 0;                    // file size
  std::vector<std::string> start_tags;   // the policy's, as stored in prealign.policy.start_tags
  std::vector<std::string> f16_fallback; // tensors a q8_0 export kept in F16 (rows not a multiple of 32)
};

GgufExportSummary export_gguf(const GgufExportOptions& options);

// Hugging Face q_proj/k_proj rows (per head: first half, second half of the
// rotary pairs, "rotate_half") reordered to GGML's interleaved pairs: within
// each of `heads` heads, row h*(hd/2) + i moves to 2*i + h. w is (rows, cols).
std::vector<float> permute_rope_rows(const std::vector<float>& w, int64_t rows, int64_t cols, int heads);

}  // namespace prealign
