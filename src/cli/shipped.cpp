#include "cli/shipped.hpp"

#include "core/error.hpp"
#include "core/paths.hpp"
#include "model/config.hpp"

namespace prealign {

namespace {

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "(none found)" : out;
}

void append_help(CLI::Option* opt, const std::string& text) { opt->description(opt->get_description() + "; " + text); }

}  // namespace

const char* shipped_folder(ShippedKind kind) {
  switch (kind) {
    case ShippedKind::tagset:
      return kTagsetFolder;
    case ShippedKind::policy:
      return kPolicyFolder;
    case ShippedKind::score_config:
      return kScoreConfigFolder;
  }
  return "";
}

const char* shipped_label(ShippedKind kind) {
  switch (kind) {
    case ShippedKind::tagset:
      return "tagsets";
    case ShippedKind::policy:
      return "policies";
    case ShippedKind::score_config:
      return "score configs";
  }
  return "";
}

CLI::Option* list_shipped(CLI::Option* opt, ShippedKind kind) {
  append_help(opt, std::string("shipped ") + shipped_label(kind) + ": " + join(shipped_names(shipped_folder(kind))));
  return opt;
}

CLI::Option* accept_shipped(CLI::Option* opt, ShippedKind kind, const std::vector<std::string>& also) {
  list_shipped(opt, kind);
  const std::string folder = shipped_folder(kind);
  opt->check(
      [folder, also](const std::string& value) -> std::string {
        for (const std::string& word : also)
          if (value == word) return "";
        try {
          resolve_config(value, folder);
          return "";
        } catch (const Error& e) {
          return e.what();  // CLI11 prints "--flag: <this>" and exits as a usage error
        }
      },
      "");
  return opt;
}

CLI::Option* accept_shipped(CLI::App& cmd, const std::string& flag, ShippedKind kind,
                            const std::vector<std::string>& also) {
  CLI::Option* opt = cmd.get_option_no_throw(flag);
  if (!opt) fail(cmd.get_name() + " " + flag, "no such option to describe", "a bug: the flag was renamed");
  return accept_shipped(opt, kind, also);
}

CLI::Option* accept_model_spec(CLI::Option* opt) {
  append_help(opt, "presets: " + join(ModelConfig::preset_names()));
  opt->check(
      [](const std::string& value) -> std::string {
        try {
          ModelConfig::parse(value, 256);  // the vocabulary is the dataset's; any size checks the spec
          return "";
        } catch (const Error& e) {
          return e.what();  // CLI11 prints "--flag: <this>" and exits as a usage error
        }
      },
      "");
  return opt;
}

}  // namespace prealign
