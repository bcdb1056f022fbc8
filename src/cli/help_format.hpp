// The formatter of prealign's --help and --help-all. CLI11 2.1's --help-all
// expands only the first level of subcommands, so `tokenizer train`, `eval ...`,
// `synth ...` and `probe ...` showed up as names without their flags. This one
// expands every level, each under its full command path ("eval misalignment").
#pragma once
#include <CLI/CLI.hpp>
#include <string>

namespace prealign {

class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_subcommands(const CLI::App* app, CLI::AppFormatMode mode) const override;
  std::string make_expanded(const CLI::App* sub) const override;
};

// "eval misalignment" for that subcommand; "" for the root.
std::string command_path(const CLI::App* app);

}  // namespace prealign
