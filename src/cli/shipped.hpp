// Options that take a shipped config by name (core/paths.hpp) or a model preset.
// Their help lists the names present, generated here from the files and the
// preset table, so a --help can never offer a name that does not exist; and the
// value is checked while the command line is parsed, before any work starts.
#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace prealign {

enum class ShippedKind { tagset, policy, score_config };

// The folder of a kind (configs/tagsets, ...) and how --help names its files.
const char* shipped_folder(ShippedKind kind);
const char* shipped_label(ShippedKind kind);  // "tagsets", "policies", "score configs"

// Appends "; shipped <label>: a, b" to `opt`'s help and checks that each value is
// a file or a shipped name (`also`: further accepted words, e.g. "none"). The value
// stays as typed; the command resolves it with resolve_config.
CLI::Option* accept_shipped(CLI::Option* opt, ShippedKind kind, const std::vector<std::string>& also = {});
// The same for a flag that add_options registered from an options struct.
CLI::Option* accept_shipped(CLI::App& cmd, const std::string& flag, ShippedKind kind,
                            const std::vector<std::string>& also = {});

// Help only, no check: for options that name a config as a label (eval compare
// --score-config matches what a report recorded, which need not exist any more).
CLI::Option* list_shipped(CLI::Option* opt, ShippedKind kind);

// A model spec (model/config.hpp): appends "; presets: tiny, ..." and checks it parses.
CLI::Option* accept_model_spec(CLI::Option* opt);

}  // namespace prealign
