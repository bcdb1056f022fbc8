// Every subcommand registers itself on the root app; each lives in its own
// cmd_<name>.cpp whose run function reads top to bottom as the recipe.
#pragma once
#include <CLI/CLI.hpp>

namespace prealign {

// Every command below, on the root app (main() and the --help tests share it).
void register_commands(CLI::App& app);

void register_tokenizer_command(CLI::App& app);  // tokenizer train|encode|decode
void register_tokenize_command(CLI::App& app);   // corpus -> shards
void register_dataset_command(CLI::App& app);    // dataset merge: parts of a job array -> one dataset
void register_train_command(CLI::App& app);
void register_launch_command(CLI::App& app);     // start the local ranks of a data-parallel run
void register_generate_command(CLI::App& app);
void register_demo_command(CLI::App& app);
void register_serve_command(CLI::App& app);  // OpenAI-compatible HTTP server
void register_score_command(CLI::App& app);       // corpus -> scored JSONL
void register_label_command(CLI::App& app);       // scored JSONL -> tags, histogram, tag counts
void register_classifier_command(CLI::App& app);  // classifier train|eval (fastText)
void register_lint_command(CLI::App& app);        // tagged corpus vs a policy grammar
void register_synth_command(CLI::App& app);       // synth world|llm|cost: seed-000 corpora
void register_probe_command(CLI::App& app);       // probe train|eval|attach: mode probes
void register_import_command(CLI::App& app);      // import hf: a Hugging Face Llama model -> checkpoint
void register_export_command(CLI::App& app);      // export hf|gguf: a checkpoint -> other formats
// Subcommands of `prealign eval`; register_eval_commands calls one function per
// evaluation (cmd_eval_<name>.cpp), each adding itself to `eval`.
void register_eval_commands(CLI::App& eval);
void register_eval_misalignment_command(CLI::App& eval);
void register_eval_loss_command(CLI::App& eval);
void register_eval_tag_agreement_command(CLI::App& eval);
void register_eval_redteam_command(CLI::App& eval);
void register_eval_compare_command(CLI::App& eval);
void register_eval_prompts_command(CLI::App& eval);
void register_eval_search_command(CLI::App& eval);  // decoding searches compared (docs/search.md)
// Subcommands of `prealign export`: each format adds itself to the group.
void register_export_gguf_command(CLI::App& export_group);  // export gguf: checkpoint -> llama.cpp

}  // namespace prealign
