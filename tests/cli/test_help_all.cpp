// --help-all shows every subcommand at every depth, under its full path, with
// all of its flags and positionals: CLI11 expanded only the first level, so
// `tokenizer train`, `eval ...`, `synth ...` and `probe ...` came without theirs.
// Each command's own --help is the reference; --help-all is the binary's.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <set>

#include "cli_run.hpp"

using namespace prealign;
using namespace prealign::testing;
namespace fs = std::filesystem;

namespace {

std::set<std::string> flags_in(const std::string& text) {
  std::set<std::string> flags;
  static const std::regex flag(R"((^|[^A-Za-z0-9_-])(--[a-z][a-z0-9-]*))");
  for (std::sregex_iterator it(text.begin(), text.end(), flag), end; it != end; ++it) flags.insert((*it)[2]);
  flags.erase("--help");
  flags.erase("--help-all");
  return flags;
}

std::vector<std::string> positionals_in(const std::string& help) {
  std::vector<std::string> names;
  bool in_section = false;
  for (const std::string& line : lines_of(help)) {
    if (!line.empty() && line[0] != ' ')
      in_section = line == "Positionals:";
    else if (in_section && indentation(line) == 2)
      names.push_back(line.substr(2, line.find(' ', 2) - 2));
  }
  return names;
}

// The part of --help-all under the heading `path`: the lines indented deeper than it.
std::string help_all_section(const std::vector<std::string>& lines, const std::string& path) {
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].substr(indentation(lines[i])) != path) continue;
    std::string section;
    for (size_t j = i + 1; j < lines.size() && indentation(lines[j]) > indentation(lines[i]); ++j)
      section += lines[j] + "\n";
    return section;
  }
  return "";
}

}  // namespace

TEST(HelpAll, TheTopLevelCommandsAreTheBinarys) {
  if (!fs::exists(PREALIGN_BINARY)) GTEST_SKIP() << "prealign not built";
  const CliResult root = run_prealign("--help");
  ASSERT_EQ(root.status, 0) << root.output;
  const std::map<std::string, std::string> tree = help_tree();
  std::vector<std::string> here;
  for (const CLI::App* sub : command_tree().get_subcommands({})) here.push_back(sub->get_name());
  EXPECT_EQ(subcommands_in_help(root.output), here) << "main() and the tests register the same commands (register_commands)";
  // and the walk reaches the depths that --help-all used to drop
  for (const char* path :
       {"tokenizer train", "eval misalignment", "eval loss", "synth world", "probe attach", "classifier eval"})
    EXPECT_TRUE(tree.count(path)) << path;
}

TEST(HelpAll, ShowsEverySubcommandWithAllItsFlagsAndPositionals) {
  if (!fs::exists(PREALIGN_BINARY)) GTEST_SKIP() << "prealign not built";
  const CliResult all = run_prealign("--help-all");
  ASSERT_EQ(all.status, 0) << all.output;
  const std::vector<std::string> lines = lines_of(all.output);
  const std::map<std::string, std::string> tree = help_tree();
  ASSERT_GE(tree.size(), 30u);
  size_t checked = 0;
  for (const auto& [path, help] : tree) {
    const std::string section = help_all_section(lines, path);
    ASSERT_FALSE(section.empty()) << "no section \"" << path << "\" in --help-all";
    const std::set<std::string> shown = flags_in(section);
    for (const std::string& flag : flags_in(help)) {
      EXPECT_TRUE(shown.count(flag)) << path << " " << flag;
      ++checked;
    }
    for (const std::string& p : positionals_in(help))
      EXPECT_NE(section.find(p), std::string::npos) << path << " positional " << p;
  }
  EXPECT_GE(checked, 300u);  // the flags of every command, not a handful
}
