#include "interop/hf_config.hpp"

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/json_io.hpp"

namespace prealign {

namespace {

const char* const kOnlyLlama =
    "prealign's model is the Llama architecture (RMSNorm, rotary embeddings, SwiGLU, grouped-query "
    "attention); other architectures differ in ways its forward pass does not implement";

std::string architectures_text(const json& arch) {
  std::string out;
  for (const auto& a : arch) out += (out.empty() ? "" : ", ") + (a.is_string() ? a.get<std::string>() : a.dump());
  return out;
}

}  // namespace

HfLlamaConfig read_hf_llama_config(const std::string& path) {
  if (!file_exists(path))
    fail(path, "missing", "a Hugging Face model directory has config.json beside its weights");
  json j = read_json_file(path);
  require(j.is_object(), path, "not a JSON object");

  HfLlamaConfig out;
  const json arch = j.value("architectures", json::array());
  require(arch.is_array(), path, "\"architectures\" is not a list");
  const std::string model_type = j.value("model_type", std::string());
  bool llama_arch = false;
  for (const auto& a : arch) llama_arch = llama_arch || (a.is_string() && a.get<std::string>() == "LlamaForCausalLM");
  if (!arch.empty() && !llama_arch)
    fail(path, "architecture " + architectures_text(arch) + " is not supported: only LlamaForCausalLM is", kOnlyLlama);
  if (!model_type.empty() && model_type != "llama")
    fail(path, "model_type \"" + model_type + "\" is not supported: only \"llama\" is", kOnlyLlama);
  if (arch.empty() && model_type.empty())
    fail(path, "names no architecture (neither \"architectures\" nor \"model_type\")",
         "a Llama model's config.json says \"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\"");
  out.architecture = "LlamaForCausalLM";

  // Llama variants prealign's forward pass does not compute, each named.
  if (json_optional<bool>(j, "mlp_bias", false, path))
    fail(path, "mlp_bias is true: biases in the MLP are not supported", kOnlyLlama);
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null())
    fail(path, "rope_scaling " + j["rope_scaling"].dump() + " is not supported (plain rotary embeddings only)",
         "prealign computes RoPE with rope_theta alone");
  // The tokenizer decides the pad id; configs disagree on how to say "none" (null, -1, absent).
  j.erase("pad_token_id");
  out.model = ModelConfig::from_hf_json(j, path);
  out.model.pad_token_id = -1;
  if (j.contains("torch_dtype") && j["torch_dtype"].is_string()) out.torch_dtype = j["torch_dtype"].get<std::string>();
  return out;
}

}  // namespace prealign
