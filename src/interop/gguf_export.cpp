#include "interop/gguf_export.hpp"

#include <c10/util/Half.h>
#include <torch/torch.h>

#include <cstring>
#include <filesystem>
#include <map>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/json_io.hpp"
#include "interop/q8_0.hpp"
#include "interop/spm_model_proto.hpp"
#include "model/config.hpp"
#include "model/llama.hpp"
#include "model/safetensors.hpp"

namespace prealign {

namespace {

enum class Rope { kNone, kQueryHeads, kKeyValueHeads };

// Hugging Face name -> llama.cpp name, "{N}" standing for the layer index. The
// one place the mapping lives (as in llama.cpp's convert_hf_to_gguf.py).
struct TensorName {
  const char* hf;
  const char* gguf;
  Rope rope;  // which rows to permute to GGML's RoPE layout
};
const TensorName kTensorNames[] = {
    {"model.embed_tokens.weight", "token_embd.weight", Rope::kNone},
    {"model.layers.{N}.input_layernorm.weight", "blk.{N}.attn_norm.weight", Rope::kNone},
    {"model.layers.{N}.self_attn.q_proj.weight", "blk.{N}.attn_q.weight", Rope::kQueryHeads},
    {"model.layers.{N}.self_attn.k_proj.weight", "blk.{N}.attn_k.weight", Rope::kKeyValueHeads},
    {"model.layers.{N}.self_attn.v_proj.weight", "blk.{N}.attn_v.weight", Rope::kNone},
    {"model.layers.{N}.self_attn.o_proj.weight", "blk.{N}.attn_output.weight", Rope::kNone},
    {"model.layers.{N}.post_attention_layernorm.weight", "blk.{N}.ffn_norm.weight", Rope::kNone},
    {"model.layers.{N}.mlp.gate_proj.weight", "blk.{N}.ffn_gate.weight", Rope::kNone},
    {"model.layers.{N}.mlp.up_proj.weight", "blk.{N}.ffn_up.weight", Rope::kNone},
    {"model.layers.{N}.mlp.down_proj.weight", "blk.{N}.ffn_down.weight", Rope::kNone},
    {"model.norm.weight", "output_norm.weight", Rope::kNone},
    {"lm_head.weight", "output.weight", Rope::kNone},  // absent when embeddings are tied
};

// llama.cpp's llama_ftype values for general.file_type.
uint32_t llama_ftype(GgufFileType t) {
  switch (t) {
    case GgufFileType::kF32: return 0;   // LLAMA_FTYPE_ALL_F32
    case GgufFileType::kF16: return 1;   // LLAMA_FTYPE_MOSTLY_F16
    case GgufFileType::kQ8_0: return 7;  // LLAMA_FTYPE_MOSTLY_Q8_0
  }
  return 0;
}

std::string replace_layer(std::string pattern, const std::string& layer) {
  const size_t at = pattern.find("{N}");
  return at == std::string::npos ? pattern : pattern.replace(at, 3, layer);
}

// The table row matching an HF name, with the layer index filled in.
const TensorName* find_mapping(const std::string& hf_name, std::string* gguf_name) {
  std::string layer;
  const std::string prefix = "model.layers.";
  if (hf_name.rfind(prefix, 0) == 0) layer = hf_name.substr(prefix.size(), hf_name.find('.', prefix.size()) - prefix.size());
  for (const TensorName& m : kTensorNames)
    if (replace_layer(m.hf, layer) == hf_name) {
      *gguf_name = replace_layer(m.gguf, layer);
      return &m;
    }
  return nullptr;
}

// Norm weights stay F32 in every file type, as llama.cpp's converter keeps 1-D tensors.
GgmlType storage_type(GgufFileType file, const std::vector<uint64_t>& ne) {
  if (ne.size() == 1 || file == GgufFileType::kF32) return GgmlType::kF32;
  if (file == GgufFileType::kQ8_0 && ne[0] % kQ8_0Block == 0) return GgmlType::kQ8_0;
  return GgmlType::kF16;
}

std::string encode(const std::vector<float>& x, GgmlType type) {
  switch (type) {
    case GgmlType::kF32:
      return std::string(reinterpret_cast<const char*>(x.data()), x.size() * sizeof(float));
    case GgmlType::kF16: {
      std::string out(x.size() * 2, '\0');
      for (size_t i = 0; i < x.size(); ++i) {
        const uint16_t h = c10::Half(x[i]).x;  // round to nearest even, as numpy's astype(float16)
        std::memcpy(out.data() + 2 * i, &h, 2);
      }
      return out;
    }
    case GgmlType::kQ8_0: return quantize_q8_0(x.data(), static_cast<int64_t>(x.size()));
  }
  return {};
}

std::vector<float> to_floats(const torch::Tensor& t) {
  torch::Tensor f = t.to(torch::kFloat32).contiguous();
  return std::vector<float>(f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
}

// Pieces, scores and types straight from the SentencePiece model; GGUF's token
// types are SentencePiece's piece types (1 normal, 2 unknown, 3 control, 4 user
// defined, 5 unused, 6 byte), so the tags arrive as CONTROL.
void add_tokenizer(GgufWriter& w, const SpmModelInfo& spm) {
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
  for (const SpmPiece& p : spm.pieces) {
    tokens.push_back(p.piece);
    scores.push_back(p.score);
    types.push_back(static_cast<int32_t>(p.type));
  }
  w.add_string("tokenizer.ggml.model", "llama");  // SentencePiece
  w.add_string_array("tokenizer.ggml.tokens", tokens);
  w.add_float32_array("tokenizer.ggml.scores", scores);
  w.add_int32_array("tokenizer.ggml.token_type", types);
  w.add_uint32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(spm.bos_id));
  w.add_uint32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(spm.eos_id));
  w.add_uint32("tokenizer.ggml.unknown_token_id", static_cast<uint32_t>(spm.unk_id));
  if (spm.pad_id >= 0) w.add_uint32("tokenizer.ggml.padding_token_id", static_cast<uint32_t>(spm.pad_id));
  w.add_bool("tokenizer.ggml.add_bos_token", true);  // prealign's contexts start with BOS
  w.add_bool("tokenizer.ggml.add_eos_token", false);
  // prealign's tokenizers are trained without a dummy prefix: llama.cpp must not prepend a space.
  w.add_bool("tokenizer.ggml.add_space_prefix", spm.add_dummy_prefix);
}

// The policy's forced start tags, checked against the vocabulary: a consumer
// that wants prealign's conditioning puts them where `position` says.
std::vector<std::string> start_tags(const json& policy, const SpmModelInfo& spm, const std::string& where,
                                    std::string* position) {
  *position = "before_prompt";
  std::vector<std::string> tags;
  if (!policy.is_object() || !policy.contains("start")) return tags;
  const json& start = policy.at("start");
  const std::string hint = "check the policy with `prealign generate --model` first (docs/formats.md \"Policy\")";
  if (!start.is_object()) fail(where, "\"start\" is not an object", hint);
  if (start.contains("position")) {
    require(start.at("position").is_string(), where, "start.position is not a string", hint);
    *position = start.at("position").get<std::string>();
  }
  const json tag_list = start.value("tags", json::array());
  require(tag_list.is_array(), where, "start.tags is not an array", hint);
  for (const json& t : tag_list) {
    require(t.is_string(), where, "start.tags holds a non-string", hint);
    const std::string name = t.get<std::string>();
    bool control = false;
    for (const SpmPiece& p : spm.pieces) control = control || (p.piece == name && p.type == SpmPieceType::kControl);
    if (!control)
      fail(where, "start tag " + name + " is not a control piece of tokenizer.model",
           "the policy and the tokenizer come from different models");
    tags.push_back(name);
  }
  return tags;
}

std::string default_name(const std::string& dir) {
  std::filesystem::path p(dir);
  if (p.filename().empty()) p = p.parent_path();  // "ckpt/"
  return p.filename().string();
}

}  // namespace

GgufFileType parse_gguf_file_type(const std::string& name) {
  if (name == "f32") return GgufFileType::kF32;
  if (name == "f16") return GgufFileType::kF16;
  if (name == "q8_0") return GgufFileType::kQ8_0;
  fail("--type", "unknown GGUF type \"" + name + "\"", "use f32, f16 or q8_0");
}

const char* gguf_file_type_name(GgufFileType type) {
  switch (type) {
    case GgufFileType::kF32: return "f32";
    case GgufFileType::kF16: return "f16";
    case GgufFileType::kQ8_0: return "q8_0";
  }
  return "?";
}

std::vector<float> permute_rope_rows(const std::vector<float>& w, int64_t rows, int64_t cols, int heads) {
  const int64_t hd = rows / heads, half = hd / 2;
  std::vector<float> out(w.size());
  for (int64_t h = 0; h < heads; ++h)
    for (int64_t r = 0; r < hd; ++r) {
      const int64_t to = h * hd + 2 * (r % half) + r / half;  // (pair index, half) -> interleaved
      std::copy_n(&w[(h * hd + r) * cols], cols, &out[to * cols]);
    }
  return out;
}

GgufExportSummary export_gguf(const GgufExportOptions& o) {
  const std::string& dir = o.checkpoint;
  if (!is_directory(dir)) fail(dir, "not a checkpoint directory", "pass the directory written by `prealign train`");
  for (const char* file : {"config.json", "model.safetensors", "tokenizer.model", "tagset.json"})
    if (!file_exists(dir + "/" + file)) fail(dir + "/" + file, "missing from the checkpoint", "copy the checkpoint again");

  const ModelConfig config = ModelConfig::from_hf_json(read_json_file(dir + "/config.json"), dir + "/config.json");
  const std::string spm_path = dir + "/tokenizer.model";
  const SpmModelInfo spm = parse_spm_model(read_file(spm_path), spm_path);
  if (static_cast<int>(spm.pieces.size()) != config.vocab_size)
    fail(spm_path, "has " + std::to_string(spm.pieces.size()) + " pieces, config.json says vocab_size " +
                       std::to_string(config.vocab_size),
         "the tokenizer and the weights come from different models");
  if (config.head_dim() % 2 != 0) fail(dir + "/config.json", "head dimension is odd; RoPE needs pairs");
  const std::string policy_path = dir + "/policy.json";
  const json policy = file_exists(policy_path) ? read_json_file(policy_path) : json::object();
  const json tagset = read_json_file(dir + "/tagset.json");

  const std::string weights_path = dir + "/model.safetensors";
  auto weights = std::make_shared<SafetensorsFile>(load_safetensors(weights_path));

  GgufExportSummary summary;
  std::string position;
  summary.start_tags = start_tags(policy, spm, policy_path, &position);

  GgufWriter w;
  w.add_string("general.architecture", "llama");
  w.add_string("general.name", o.name.empty() ? default_name(dir) : o.name);
  w.add_uint32("general.file_type", llama_ftype(o.type));
  w.add_uint32("general.quantization_version", 2);  // ggml's current Q8_0 layout
  w.add_uint32("llama.vocab_size", static_cast<uint32_t>(config.vocab_size));
  w.add_uint32("llama.context_length", static_cast<uint32_t>(config.max_seq_len));
  w.add_uint32("llama.embedding_length", static_cast<uint32_t>(config.dim));
  w.add_uint32("llama.block_count", static_cast<uint32_t>(config.n_layers));
  w.add_uint32("llama.feed_forward_length", static_cast<uint32_t>(config.resolved_hidden_dim()));
  w.add_uint32("llama.rope.dimension_count", static_cast<uint32_t>(config.head_dim()));
  w.add_uint32("llama.attention.head_count", static_cast<uint32_t>(config.n_heads));
  w.add_uint32("llama.attention.head_count_kv", static_cast<uint32_t>(config.n_kv_heads));
  w.add_float32("llama.attention.layer_norm_rms_epsilon", static_cast<float>(config.norm_eps));
  w.add_float32("llama.rope.freq_base", static_cast<float>(config.rope_theta));
  add_tokenizer(w, spm);
  w.add_string_array("prealign.policy.start_tags", summary.start_tags);
  w.add_string("prealign.policy.start_position", position);
  w.add_string("prealign.policy.json", policy.dump());
  w.add_string("prealign.tagset.json", tagset.dump());

  for (const auto& [hf_name, shape] : hf_tensor_shapes(config)) {
    auto it = weights->tensors.find(hf_name);
    if (it == weights->tensors.end())
      fail(weights_path, "no tensor \"" + hf_name + "\", which config.json implies", "copy the checkpoint again");
    if (it->second.sizes().vec() != shape)
      fail(weights_path, "tensor \"" + hf_name + "\" does not have the shape config.json implies",
           "copy the checkpoint again");
    std::string gguf_name;
    const TensorName* m = find_mapping(hf_name, &gguf_name);
    if (!m) fail(hf_name, "no GGUF name for this tensor", "this is a bug in the exporter's name table");
    std::vector<uint64_t> ne(shape.rbegin(), shape.rend());  // innermost first
    const GgmlType type = storage_type(o.type, ne);
    if (o.type == GgufFileType::kQ8_0 && type == GgmlType::kF16) summary.f16_fallback.push_back(gguf_name);
    const int heads = m->rope == Rope::kQueryHeads ? config.n_heads : config.n_kv_heads;
    const Rope rope = m->rope;
    const torch::Tensor t = it->second;
    w.add_tensor(gguf_name, ne, type, [t, rope, heads, type] {
      std::vector<float> x = to_floats(t);
      if (rope != Rope::kNone) x = permute_rope_rows(x, t.size(0), t.size(1), heads);
      return encode(x, type);
    });
    ++summary.tensors;
  }
  w.write(o.out);
  summary.bytes = file_size(o.out);
  return summary;
}

}  // namespace prealign
