// prealign export hf: a prealign checkpoint -> a Hugging Face model directory
// (src/interop/hf_export.hpp). `export` is a group: each format adds itself.
#include <cstdio>

#include "cli/commands.hpp"
#include "core/progress.hpp"
#include "interop/hf_export.hpp"

namespace prealign {

namespace {

struct ExportHfArgs {
  std::string checkpoint, out;
  HfExportOptions options;
};

void register_export_hf_command(CLI::App& group) {
  auto* cmd = group.add_subcommand(
      "hf",
      "write a Hugging Face model directory that transformers loads as LlamaForCausalLM + LlamaTokenizer:\n"
      "config.json, model.safetensors, tokenizer.model, tokenizer_config.json, special_tokens_map.json\n"
      "(the tags as additional special tokens) and generation_config.json (the policy's start tags in a\n"
      "\"prealign\" block; tags the policy always bans as bad_words_ids). Training state is left out.\n"
      "Mapping: docs/formats.md. Example: prealign export hf runs/cond/checkpoint -o hf/cond");
  auto a = std::make_shared<ExportHfArgs>();
  cmd->add_option("checkpoint", a->checkpoint, "checkpoint directory")->required();
  cmd->add_option("-o,--out", a->out, "directory to write")->required();
  cmd->add_option("--dtype", a->options.dtype, "dtype of model.safetensors: f32, bf16 or f16")
      ->check(CLI::IsMember({"f32", "bf16", "f16"}))
      ->capture_default_str();
  cmd->add_flag("--force", a->options.force, "replace an existing output directory");
  cmd->callback([a] {
    export_hf(a->checkpoint, a->out, a->options);
    note("export hf: " + a->checkpoint + " -> " + a->out);
    std::printf("exported %s -> %s (model.safetensors in %s)\n", a->checkpoint.c_str(), a->out.c_str(),
                a->options.dtype.c_str());
  });
}

}  // namespace

void register_export_command(CLI::App& app) {
  auto* group = app.add_subcommand("export", "write a checkpoint in another format: Hugging Face, GGUF");
  group->require_subcommand(1);
  register_export_hf_command(*group);
  register_export_gguf_command(*group);  // cmd_export_gguf.cpp
}

}  // namespace prealign
