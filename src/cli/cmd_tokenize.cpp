// prealign tokenize: scored corpus -> dataset directory of token shards.
#include <cstdio>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "cli/shipped.hpp"
#include "cli/tokenizer_args.hpp"
#include "core/config.hpp"
#include "core/files.hpp"
#include "core/progress.hpp"
#include "data/tokenize.hpp"

namespace prealign {

void register_tokenize_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "tokenize",
      "tokenize a corpus into a dataset directory of token shards (train-*.bin, val-*.bin, dataset.json).\n"
      "Inputs: scored JSONL (.jsonl/.jsonl.gz: {\"id\", \"text\", \"segments\": [{\"start\", \"end\", \"scores\"}]}),\n"
      "plain text files (one document each), or directories (with --glob). Each segment is encoded on its\n"
      "own and keeps its scores, so tags are chosen later, at training time. Formats: docs/formats.md.");
  auto inputs = std::make_shared<std::vector<std::string>>();
  auto tokenizer = std::make_shared<std::string>();
  auto tagsets = std::make_shared<std::vector<std::string>>();
  auto options = std::make_shared<TokenizeOptions>();
  cmd->add_option("inputs", *inputs, "JSONL files, text files or directories")->required();
  cmd->add_option("--tokenizer", *tokenizer, "tokenizer directory (tokenizer.model + tagset.json) or model file")
      ->required();
  accept_shipped(
      cmd->add_option("--tagset", *tagsets, "tagset file or name (repeatable; default: tagset.json beside the model)"),
      ShippedKind::tagset);
  add_options(*cmd, *options);
  cmd->callback([=] {
    if (options->out.empty()) fail("--out", "no output directory given", "pass --out DIR");
    note("tokenize: options " + config_to_json(*options).dump());
    Tokenizer tok = open_tokenizer(*tokenizer, *tagsets);
    note("tokenize: tokenizer " + *tokenizer + " (vocab " + std::to_string(tok.vocab_size()) + ", " +
         std::to_string(tok.tag_ids().size()) + " tags)");
    TokenizeStats stats = tokenize_corpus(*inputs, tok, *options);
    std::printf("%sdataset: %s\n", format_tokenize_summary(stats).c_str(), options->out.c_str());
  });
}

}  // namespace prealign
