#include "model/checkpoint.hpp"

#include <filesystem>
#include <set>

#include "core/error.hpp"
#include "core/files.hpp"
#include "model/safetensors.hpp"
#include "model/safetensors_header.hpp"

namespace prealign {

namespace {

constexpr int kFormatVersion = 1;  // of the directory layout; bump when it changes incompatibly

const char* const kRequiredFiles[] = {"config.json",  "model.safetensors", "tokenizer.model",
                                      "tagset.json",  "policy.json",       "train_state.json"};

// Refuses, before anything is written, weights that config.json would not describe.
void check_weights(const CheckpointContents& c, const std::string& where) {
  const std::string hint = "pass model->hf_tensors() of a model built from the same config";
  std::map<std::string, std::vector<int64_t>> expected;
  for (auto& [name, shape] : hf_tensor_shapes(c.config)) expected[name] = shape;
  std::set<std::string> seen;
  for (const auto& [name, t] : c.weights) {
    auto it = expected.find(name);
    if (it == expected.end()) fail(where, "weight \"" + name + "\" is not part of this model config", hint);
    if (!seen.insert(name).second) fail(where, "weight \"" + name + "\" given twice", hint);
    if (!t.defined() || t.sizes().vec() != it->second)
      fail(where, "weight \"" + name + "\" does not have the shape the config implies", hint);
  }
  for (const auto& [name, shape] : expected)
    if (!seen.count(name)) fail(where, "weight \"" + name + "\" is missing", hint);
}

void write_files(const std::string& staging, const CheckpointContents& c) {
  ordered_json config = c.config.to_hf_json();
  config["prealign"] = {{"format_version", kFormatVersion}, {"weights", "model.safetensors"}};
  write_json_file(staging + "/config.json", config);
  save_safetensors(staging + "/model.safetensors", c.weights, {{"format", "pt"}});
  write_file_atomic(staging + "/tokenizer.model", c.tokenizer_model);
  write_json_file(staging + "/tagset.json", c.tagset);
  write_json_file(staging + "/policy.json", c.policy);
  write_json_file(staging + "/train_state.json", c.train_state);
  if (!c.optimizer.empty()) save_safetensors(staging + "/optimizer.safetensors", c.optimizer);
  if (!c.extra.empty()) save_safetensors(staging + "/extra.safetensors", c.extra);
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Compares the shapes config.json implies with those the safetensors header
// stores, before the model or any tensor is allocated: a config claiming 64
// layers or a 16M vocabulary is refused by a look at the header, not by the
// allocator. (Extra tensors are judged by load_hf_tensors, which knows which
// extras other writers store; they cost no more memory than the file holds.)
void check_config_against_weights(const ModelConfig& config, const std::string& config_path,
                                  const std::string& weights_path) {
  const SafetensorsHeader header = read_safetensors_header(weights_path);
  const std::string hint = "config.json and model.safetensors come from different models; copy the checkpoint again";
  std::map<std::string, const SafetensorsEntry*> stored;
  for (const SafetensorsEntry& e : header.entries) stored[e.name] = &e;
  for (const auto& [name, shape] : hf_tensor_shapes(config)) {
    auto it = stored.find(name);
    const SafetensorsEntry* e = it == stored.end() ? nullptr : it->second;
    if (!e) fail(weights_path, "no tensor \"" + name + "\", which " + config_path + " implies", hint);
    if (e->shape != shape)
      fail(weights_path, "tensor \"" + name + "\" has shape " + shape_text(e->shape) + ", " + config_path +
                             " implies " + shape_text(shape), hint);
  }
}

std::map<std::string, torch::Tensor> load_optional(const std::string& path) {
  if (!file_exists(path)) return {};
  return load_safetensors(path).tensors;
}

}  // namespace

void save_checkpoint(const std::string& dir, const CheckpointContents& contents) {
  contents.config.validate(dir + "/config.json");
  check_weights(contents, dir + "/model.safetensors");
  if (!contents.tagset.is_object() && !contents.tagset.is_array())
    fail(dir + "/tagset.json", "the tagset is not a JSON object", "pass the tagset the tokenizer was trained with");

  auto parent = std::filesystem::path(dir).parent_path();
  if (!parent.empty()) make_directories(parent.string());
  const std::string staging = staging_directory_for(dir);
  try {
    write_files(staging, contents);
  } catch (...) {
    remove_all(staging);  // the previous checkpoint at `dir` stays as it was
    throw;
  }
  publish_directory(staging, dir);
}

LoadedCheckpoint load_checkpoint(const std::string& dir, torch::Device device, bool load_optimizer) {
  if (!is_directory(dir)) fail(dir, "not a checkpoint directory", "pass the directory written by `prealign train`");
  for (const char* name : kRequiredFiles)
    if (!file_exists(dir + "/" + name))
      fail(dir + "/" + name, "missing from the checkpoint", "the checkpoint is incomplete; copy it again");

  LoadedCheckpoint out;
  out.dir = dir;
  const std::string config_path = dir + "/config.json";
  json config = read_json_file(config_path);
  if (config.contains("prealign")) {
    int version = json_optional<int>(config["prealign"], "format_version", 1, config_path);
    if (version > kFormatVersion)
      fail(config_path, "checkpoint format " + std::to_string(version) + " is newer than this build supports (" +
                            std::to_string(kFormatVersion) + ")",
           "update prealign");
  }
  out.config = ModelConfig::from_hf_json(config, config_path);

  const std::string weights_path = dir + "/model.safetensors";
  check_config_against_weights(out.config, config_path, weights_path);
  auto weights = load_safetensors(weights_path);
  out.model = LlamaModel(out.config);
  out.model->load_hf_tensors(weights.tensors, weights_path);
  out.model->to(device);
  out.model->eval();

  out.tagset = read_json_file(dir + "/tagset.json");
  out.policy = read_json_file(dir + "/policy.json");
  out.train_state = read_json_file(dir + "/train_state.json");
  if (load_optimizer) out.optimizer = load_optional(dir + "/optimizer.safetensors");
  out.extra = load_optional(dir + "/extra.safetensors");
  return out;
}

}  // namespace prealign
