#include "cli/help_format.hpp"

#include <sstream>
#include <vector>

namespace prealign {

std::string command_path(const CLI::App* app) {
  std::string path;
  for (const CLI::App* a = app; a && a->get_parent(); a = a->get_parent())
    path = a->get_name() + (path.empty() ? "" : " " + path);
  return path;
}

// As CLI::Formatter, except that in --help-all mode every subcommand is expanded
// by this formatter (recursively), whatever formatter the subcommand holds.
std::string HelpFormatter::make_subcommands(const CLI::App* app, CLI::AppFormatMode mode) const {
  if (mode != CLI::AppFormatMode::All) return CLI::Formatter::make_subcommands(app, mode);
  std::vector<std::string> groups;
  for (const CLI::App* sub : app->get_subcommands({})) {
    if (sub->get_name().empty() || sub->get_group().empty()) continue;
    bool seen = false;
    for (const auto& g : groups) seen = seen || CLI::detail::to_lower(g) == CLI::detail::to_lower(sub->get_group());
    if (!seen) groups.push_back(sub->get_group());
  }
  std::stringstream out;
  for (const std::string& group : groups) {
    out << "\n" << group << ":\n";
    for (const CLI::App* sub : app->get_subcommands({})) {
      if (sub->get_name().empty() || CLI::detail::to_lower(sub->get_group()) != CLI::detail::to_lower(group)) continue;
      out << make_expanded(sub) << "\n";
    }
  }
  return out.str();
}

// CLI11's layout (name, description, positionals, options, indented), with the
// full command path as the heading and the nested subcommands expanded too.
std::string HelpFormatter::make_expanded(const CLI::App* sub) const {
  std::stringstream out;
  out << command_path(sub) << "\n";
  out << make_description(sub);
  out << make_positionals(sub);
  out << make_groups(sub, CLI::AppFormatMode::Sub);
  out << make_subcommands(sub, CLI::AppFormatMode::All);
  std::string text = CLI::detail::find_and_replace(out.str(), "\n\n", "\n");
  if (!text.empty() && text.back() == '\n') text.pop_back();
  return CLI::detail::find_and_replace(text, "\n", "\n  ") + "\n";
}

}  // namespace prealign
