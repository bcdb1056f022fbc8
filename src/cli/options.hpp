// Registers an options struct's fields (its visit() list, see core/config.hpp)
// as command-line flags: "max_new_tokens" becomes --max-new-tokens.
#pragma once
#include <CLI/CLI.hpp>
#include <set>
#include <string>
#include <type_traits>

namespace prealign {

inline std::string flag_name(const char* field) {
  std::string s = "--";
  for (const char* p = field; *p; ++p) s += (*p == '_') ? '-' : *p;
  return s;
}

struct CliRegistrar {
  CLI::App& app;
  template <class T>
  void operator()(const char* name, T& field, const char* help) {
    if constexpr (std::is_same_v<T, bool>) {
      app.add_flag(flag_name(name), field, help);
    } else {
      app.add_option(flag_name(name), field, help)->capture_default_str();
    }
  }
};

template <class Options>
void add_options(CLI::App& app, Options& o) {
  CliRegistrar r{app};
  o.visit(r);
}

// The option fields given on this command line (as `visit` names them, "--seed-prompt" ->
// "seed_prompt"): on --resume they say what the user wants changed from the run's own.
inline std::set<std::string> given_fields(const CLI::App& cmd) {
  std::set<std::string> given;
  for (const CLI::Option* opt : cmd.get_options())
    if (opt->count() > 0 && !opt->get_lnames().empty()) {
      std::string field = opt->get_lnames().front();
      for (char& c : field)
        if (c == '-') c = '_';
      given.insert(field);
    }
  return given;
}

}  // namespace prealign
