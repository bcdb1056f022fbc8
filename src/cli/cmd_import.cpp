// prealign import hf: a Hugging Face Llama model directory -> a prealign
// checkpoint with the tagset's tags added (src/interop/hf_import.hpp).
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/shipped.hpp"
#include "cli/tokenizer_args.hpp"
#include "core/progress.hpp"
#include "interop/hf_import.hpp"

namespace prealign {

namespace {

struct ImportHfArgs {
  std::string dir, out;
  std::vector<std::string> tagsets;
  HfImportOptions options;
};

void run_import_hf(const ImportHfArgs& a) {
  const Tagset tagset = load_tagsets(a.tagsets);
  note("import hf: " + a.dir + " with " + std::to_string(tagset.size()) + " tags (" + tagset.name() + ")");
  const HfImportResult r = import_hf(a.dir, tagset, a.out, a.options);
  const ModelConfig& c = r.config;
  std::printf("imported %s (%s parameters; dim %d, %d layers, %d heads, %d kv heads, vocabulary %d%s, %s)\n",
              a.dir.c_str(), human_count(double(c.parameter_count())).c_str(), c.dim, c.n_layers, c.n_heads,
              c.n_kv_heads, c.vocab_size, c.tie_embeddings ? ", tied embeddings" : "",
              r.torch_dtype.empty() ? "float weights" : (r.torch_dtype + " weights").c_str());
  std::printf("tags: %d appended as control pieces (mean row + noise), %d already present\n", r.appended_tags,
              r.existing_tags);
  if (r.add_dummy_prefix)
    std::printf("tokenizer: add_dummy_prefix on: a text at the start of a sequence gets a leading space, as in the "
                "model's pretraining\n");
  std::printf("checkpoint: %s\n", a.out.c_str());
}

}  // namespace

void register_import_command(CLI::App& app) {
  auto* group = app.add_subcommand("import", "bring a model from another format in as a prealign checkpoint");
  group->require_subcommand(1);
  auto* cmd = group->add_subcommand(
      "hf",
      "import a Hugging Face Llama model directory (config.json, model.safetensors or sharded\n"
      "model-0000N-of-0000M.safetensors + index, F32/F16/BF16, and its SentencePiece tokenizer.model).\n"
      "The tags become new control pieces (text can never produce them) whose embedding and output rows\n"
      "start as the mean of the existing rows plus small noise. The result is an ordinary checkpoint:\n"
      "tokenize a tagged corpus with --tokenizer CKPT, then train --init-from CKPT. Details: docs/formats.md.\n"
      "Example: prealign import hf ./TinyLlama --tagset good_bad -o ckpt/tinyllama");
  auto a = std::make_shared<ImportHfArgs>();
  cmd->add_option("dir", a->dir, "the Hugging Face model directory")->required();
  accept_shipped(cmd->add_option("--tagset", a->tagsets, "tagset file or name (repeatable; merged in order)")
                     ->required()
                     ->allow_extra_args(false),
                 ShippedKind::tagset);
  cmd->add_option("-o,--out", a->out, "checkpoint directory to write")->required();
  cmd->add_option("--noise", a->options.noise, "standard deviation of the noise added to the new tags' mean rows")
      ->capture_default_str();
  cmd->add_option("--seed", a->options.seed, "seed of that noise")->capture_default_str();
  cmd->add_flag("--force", a->options.force, "replace an existing output directory");
  cmd->callback([a] { run_import_hf(*a); });
}

}  // namespace prealign
