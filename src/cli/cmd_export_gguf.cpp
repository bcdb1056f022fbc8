// prealign export gguf: a checkpoint as a GGUF file for llama.cpp and the tools
// built on it (docs/formats.md "GGUF").
#include <cstdio>

#include "cli/commands.hpp"
#include "core/progress.hpp"
#include "interop/gguf_export.hpp"

namespace prealign {

namespace {

void run_export_gguf(const GgufExportOptions& o) {
  const GgufExportSummary s = export_gguf(o);
  std::string tags;
  for (const std::string& t : s.start_tags) tags += (tags.empty() ? "" : " ") + t;
  if (!s.f16_fallback.empty())
    warn("export gguf: " + std::to_string(s.f16_fallback.size()) +
         " tensors kept in F16 (rows not a multiple of 32, which Q8_0 needs), e.g. " + s.f16_fallback.front());
  std::printf("wrote %s: %d tensors, %s, type %s | policy start tags: %s\n", o.out.c_str(), s.tensors,
              human_bytes(double(s.bytes)).c_str(), gguf_file_type_name(o.type), tags.empty() ? "none" : tags.c_str());
  std::printf("note: llama.cpp's server parses special tokens out of prompts by default; the guarantee that\n"
              "prompt text never yields a tag holds only in prealign's own server (docs/formats.md \"GGUF\").\n");
}

}  // namespace

void register_export_gguf_command(CLI::App& export_group) {
  auto* cmd = export_group.add_subcommand(
      "gguf",
      "write a checkpoint as a GGUF v3 file llama.cpp loads (architecture llama): hyperparameters, the\n"
      "SentencePiece vocabulary with the tags as CONTROL tokens, the weights under llama.cpp's names with\n"
      "Q/K rows permuted to its RoPE layout, and the policy's start tags as prealign.* keys.\n"
      "Norm weights stay F32 in f16 and q8_0 files. Written atomically. docs/formats.md \"GGUF\".");
  auto o = std::make_shared<GgufExportOptions>();
  auto type = std::make_shared<std::string>("f32");
  cmd->add_option("checkpoint", o->checkpoint, "checkpoint directory (prealign train --out RUN writes RUN/checkpoint)")
      ->required();
  cmd->add_option("--out,-o", o->out, "the .gguf file to write")->required();
  cmd->add_option("--type", *type,
                  "tensor type: f32 (exact), f16, or q8_0 (8-bit blocks of 32; a matrix whose rows are not a "
                  "multiple of 32 stays f16)")
      ->capture_default_str()
      ->check(CLI::IsMember({"f32", "f16", "q8_0"}));
  cmd->add_option("--name", o->name, "general.name (default: the checkpoint directory's name)");
  cmd->callback([o, type] {
    o->type = parse_gguf_file_type(*type);
    run_export_gguf(*o);
  });
}

}  // namespace prealign
