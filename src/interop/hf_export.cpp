#include "interop/hf_export.hpp"

#include <torch/torch.h>

#include <filesystem>

#include "core/error.hpp"
#include "core/files.hpp"
#include "interop/hf_tokenizer_files.hpp"
#include "model/llama.hpp"
#include "model/safetensors.hpp"
#include "model/safetensors_header.hpp"

namespace prealign {

namespace {

struct Dtype {
  const char* flag;
  const char* torch_dtype;  // config.json's name
  torch::ScalarType type;
};
const Dtype kDtypes[] = {{"f32", "float32", torch::kFloat32},
                         {"bf16", "bfloat16", torch::kBFloat16},
                         {"f16", "float16", torch::kFloat16}};

const Dtype& dtype_of(const std::string& flag) {
  for (const Dtype& d : kDtypes)
    if (flag == d.flag) return d;
  fail("--dtype " + flag, "unknown dtype", "use f32, bf16 or f16");
}

void require_file(const std::string& path) {
  if (!file_exists(path)) fail(path, "missing from the checkpoint", "pass a checkpoint directory written by prealign");
}

// The checkpoint's weights, checked against its config.json, in hf_tensor_shapes order.
std::vector<std::pair<std::string, torch::Tensor>> read_weights(const std::string& path, const ModelConfig& c,
                                                                torch::ScalarType type) {
  SafetensorsFile file = load_safetensors(path);  // headers, sizes and the CRC checked
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& [name, shape] : hf_tensor_shapes(c)) {
    auto it = file.tensors.find(name);
    if (it == file.tensors.end()) fail(path, "no tensor \"" + name + "\", which config.json implies");
    if (it->second.sizes().vec() != shape) fail(path, "tensor \"" + name + "\" does not have the shape config.json implies");
    torch::Tensor t = std::move(it->second);
    file.tensors.erase(it);  // converted copies replace the originals one at a time
    out.emplace_back(name, t.scalar_type() == type ? t : t.to(type));
  }
  return out;
}

Policy checkpoint_policy(const json& j, const Tokenizer& tok, const std::string& where) {
  const TagVocabulary vocab = TagVocabulary::of(tok);
  if (j.is_object() && j.empty()) return Policy::unrestricted(vocab);
  return Policy::from_json(j, vocab, where);
}

}  // namespace

ordered_json hf_generation_config(const ModelConfig& config, const Tokenizer& tok, const Policy& policy) {
  ordered_json g;
  g["bos_token_id"] = Tokenizer::kBos;
  g["eos_token_id"] = Tokenizer::kEos;
  if (tok.pad_id() >= 0) g["pad_token_id"] = tok.pad_id();
  // A tag no state of the policy allows is banned outright: the static part of
  // the policy, which transformers' generate() applies with bad_words_ids.
  std::vector<int> banned;
  ordered_json banned_names = ordered_json::array(), tags = ordered_json::object();
  for (int id : tok.tag_ids()) {
    tags[tok.tag_name(id)] = id;
    bool allowed = false;
    for (const PolicyState& s : policy.states()) allowed = allowed || s.allowed.count(id) > 0;
    if (allowed) continue;
    banned.push_back(id);
    banned_names.push_back(tok.tag_name(id));
  }
  if (!banned.empty()) {
    ordered_json words = ordered_json::array();
    for (int id : banned) words.push_back(ordered_json::array({id}));
    g["bad_words_ids"] = words;
  }
  ordered_json start_names = ordered_json::array();
  for (int id : policy.start_tags()) start_names.push_back(tok.tag_name(id));
  const bool after = policy.start_after_prompt();
  ordered_json p;
  p["policy"] = policy.name();
  p["description"] = policy.source().value("description", std::string());
  p["start_tags"] = start_names;
  p["start_tag_ids"] = policy.start_tags();
  p["start_position"] = after ? "after_prompt" : "before_prompt";
  p["banned_tags"] = banned_names;
  p["tags"] = tags;
  p["add_dummy_prefix"] = tok.add_dummy_prefix();
  p["max_position_embeddings"] = config.max_seq_len;
  p["usage"] = after ? "input_ids = [bos_token_id] + tokenizer(prompt, add_special_tokens=False).input_ids + "
                       "start_tag_ids; the policy's state machine beyond bad_words_ids is prealign's alone"
                     : "input_ids = [bos_token_id] + start_tag_ids + tokenizer(prompt, add_special_tokens=False)"
                       ".input_ids; the policy's state machine beyond bad_words_ids is prealign's alone";
  g["prealign"] = p;
  return g;
}

void export_hf(const std::string& checkpoint, const std::string& out, const HfExportOptions& options) {
  const Dtype& dtype = dtype_of(options.dtype);
  require(is_directory(checkpoint), checkpoint, "not a checkpoint directory",
          "pass the directory written by `prealign train` (RUN/checkpoint) or `prealign import`");
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.model", "tagset.json", "policy.json"})
    require_file(checkpoint + "/" + f);
  require(!out.empty(), "-o", "no output directory given");
  if (file_exists(out)) {
    require(!std::filesystem::equivalent(checkpoint, out), out, "is the checkpoint itself", "choose another -o");
    require(options.force || (is_directory(out) && std::filesystem::is_empty(out)), out, "exists and is not empty",
            "choose another -o, or pass --force to replace it");
  }

  // Everything is read and checked before the output is created.
  const std::string config_path = checkpoint + "/config.json";
  const ModelConfig config = ModelConfig::from_hf_json(read_json_file(config_path), config_path);
  const Tokenizer tok = Tokenizer::load_dir(checkpoint);
  require(tok.vocab_size() == config.vocab_size, config_path,
          "vocab_size " + std::to_string(config.vocab_size) + " differs from tokenizer.model's " +
              std::to_string(tok.vocab_size()) + " pieces",
          "the checkpoint is damaged; copy it again");
  const Policy policy = checkpoint_policy(read_json_file(checkpoint + "/policy.json"), tok, checkpoint + "/policy.json");
  const auto weights = read_weights(checkpoint + "/model.safetensors", config, dtype.type);

  ordered_json hf_config = config.to_hf_json();
  hf_config["pad_token_id"] = tok.pad_id() >= 0 ? ordered_json(tok.pad_id()) : ordered_json(nullptr);
  hf_config["torch_dtype"] = dtype.torch_dtype;

  const auto parent = std::filesystem::path(out).parent_path();
  if (!parent.empty()) make_directories(parent.string());
  const std::string staging = staging_directory_for(out);
  try {
    write_json_file(staging + "/config.json", hf_config);
    save_safetensors(staging + "/model.safetensors", weights, {{"format", "pt"}});
    write_file_atomic(staging + "/tokenizer.model", tok.serialized_model());
    write_json_file(staging + "/tokenizer_config.json", hf_tokenizer_config(tok, config.max_seq_len));
    write_json_file(staging + "/special_tokens_map.json", hf_special_tokens_map(tok));
    write_json_file(staging + "/generation_config.json", hf_generation_config(config, tok, policy));
  } catch (...) {
    remove_all(staging);
    throw;
  }
  publish_directory(staging, out);
}

}  // namespace prealign
