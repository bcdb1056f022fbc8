// Running the prealign binary and reading --help, for the tests of what a user
// sees. The binary is the one this build made (PREALIGN_BINARY).
#pragma once
#include <sys/wait.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/help_format.hpp"
#include "core/files.hpp"
#include "core/json_io.hpp"
#include "test_util.hpp"

namespace prealign::testing {

struct CliResult {
  int status = -1;     // exit code, -1 when killed
  std::string output;  // stdout, then stderr when asked for with 2>&1
};

// `args` go through the shell as written; `cwd` (if any) is where it runs.
inline CliResult run_prealign(const std::string& args, const std::string& cwd = "") {
  int st = 0;
  const std::string prefix = cwd.empty() ? "" : "cd '" + cwd + "' && ";
  std::string out = run_capture(prefix + "'" + std::string(PREALIGN_BINARY) + "' " + args + " 2>&1", &st);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Every record of a JSONL file a command wrote.
inline std::vector<json> jsonl(const std::string& path) {
  std::vector<json> out;
  for (const std::string& line : lines_of(read_file(path)))
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

inline size_t indentation(const std::string& line) {
  const size_t n = line.find_first_not_of(' ');
  return n == std::string::npos ? line.size() : n;
}

// The names listed under "Subcommands:" in one command's --help.
inline std::vector<std::string> subcommands_in_help(const std::string& help) {
  std::vector<std::string> names;
  bool in_section = false;
  for (const std::string& line : lines_of(help)) {
    if (!line.empty() && line[0] != ' ') {
      in_section = line == "Subcommands:";
      continue;
    }
    if (in_section && indentation(line) == 2) names.push_back(line.substr(2, line.find(' ', 2) - 2));
  }
  return names;
}

// The command tree as src/main.cpp builds it (register_commands; its root flags
// aside), in this process: a --help per command costs a second of libtorch
// loading in the binary. HelpAll.TheTopLevelCommandsAreTheBinarys checks the binary agrees.
inline const CLI::App& command_tree() {
  static CLI::App* app = [] {
    auto* a = new CLI::App{"prealign"};
    a->set_help_all_flag("--help-all", "help for every subcommand");
    a->formatter(std::make_shared<HelpFormatter>());
    register_commands(*a);
    return a;
  }();
  return *app;
}

// Every command path ("tokenizer", "tokenizer train", ...) mapped to its --help.
inline std::map<std::string, std::string> help_tree() {
  std::map<std::string, std::string> tree;
  std::vector<const CLI::App*> todo = {&command_tree()};
  while (!todo.empty()) {
    const CLI::App* app = todo.back();
    todo.pop_back();
    if (app != &command_tree()) tree[command_path(app)] = app->help();
    for (const CLI::App* sub : app->get_subcommands({})) todo.push_back(sub);
  }
  return tree;
}

// One option as --help shows it: its flags ("-o", "--out") and all of its text.
struct HelpOption {
  std::vector<std::string> flags;
  std::string text;
};

// The options of one command's --help: a line "  -x,--name ..." and the more
// deeply indented lines after it that continue its description.
inline std::vector<HelpOption> options_in_help(const std::string& help) {
  std::vector<HelpOption> out;
  bool open = false;  // the last line belonged to an option
  for (const std::string& line : lines_of(help)) {
    if (line.rfind("  -", 0) == 0) {
      HelpOption o;
      std::stringstream names(line.substr(2, line.find(' ', 2) - 2));
      for (std::string f; std::getline(names, f, ',');) o.flags.push_back(f);
      o.text = line;
      out.push_back(o);
      open = true;
    } else if (open && indentation(line) > 3 && indentation(line) < line.size()) {
      out.back().text += "\n" + line;
    } else {
      open = false;  // a section header, a positional or a subcommand
    }
  }
  return out;
}

}  // namespace prealign::testing
