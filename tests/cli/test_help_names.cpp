// Every shipped config or model preset a --help names exists, every list is
// complete, and every option that takes one lists them. The expected names come
// from listing configs/ here, not from the code that writes the help.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <regex>

#include "cli_run.hpp"
#include "model/config.hpp"

using namespace prealign;
using namespace prealign::testing;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> shipped_files(const std::string& folder) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(source_path(folder)))
    if (e.is_regular_file() && e.path().extension() == ".json") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> split_list(const std::string& list) {
  std::vector<std::string> out;
  static const std::regex item(R"([^, ]+)");
  for (std::sregex_iterator it(list.begin(), list.end(), item), end; it != end; ++it) out.push_back(it->str());
  return out;
}

const std::map<std::string, std::string> kFolderOf = {
    {"tagsets", "configs/tagsets"}, {"policies", "configs/policies"}, {"score configs", "configs/score"}};

// The generated list an option's help carries ("shipped policies: a, b"), or "" if none.
std::string listed_kind(const std::string& text) {
  static const std::regex list(R"(shipped (tagsets|policies|score configs): )");
  std::smatch m;
  return std::regex_search(text, m, list) ? m[1].str() : "";
}

}  // namespace

// `score --help` once offered a config "pii_sentences" that was never shipped.
TEST(HelpNames, EveryShippedNameItMentionsExistsAndEveryListIsComplete) {
  static const std::regex shipped(R"(shipped (tagsets|policies|score configs): ([a-z0-9_]+(, [a-z0-9_]+)*))");
  static const std::regex presets(R"(presets: ([a-z0-9_]+(, [a-z0-9_]+)*))");
  static const std::regex config_path(R"(configs/[a-z_]+/[A-Za-z0-9_.-]+\.json)");
  size_t lists = 0;
  for (const auto& [path, help] : help_tree()) {
    for (std::sregex_iterator it(help.begin(), help.end(), shipped), end; it != end; ++it, ++lists)
      EXPECT_EQ(split_list((*it)[2]), shipped_files(kFolderOf.at((*it)[1]))) << "prealign " << path << " --help";
    for (std::sregex_iterator it(help.begin(), help.end(), presets), end; it != end; ++it, ++lists)
      EXPECT_EQ(split_list((*it)[1]), ModelConfig::preset_names()) << "prealign " << path << " --help";
    for (std::sregex_iterator it(help.begin(), help.end(), config_path), end; it != end; ++it)
      EXPECT_TRUE(fs::exists(source_path(it->str()))) << it->str() << " in prealign " << path << " --help";
    // a list written by hand ("a shipped one by name (pii, pep8, ...)") is not one of the generated ones
    size_t generated = 0, mentions = 0;
    for (std::sregex_iterator it(help.begin(), help.end(), shipped), end; it != end; ++it) ++generated;
    for (size_t at = help.find("shipped"); at != std::string::npos; at = help.find("shipped", at + 1)) ++mentions;
    EXPECT_EQ(mentions, generated) << "a hand-written mention of shipped names in prealign " << path << " --help";
  }
  EXPECT_GE(lists, 20u);
}

// Every option that takes a tagset, policy or score config lists the shipped
// names, and a default it shows is one of them.
TEST(HelpNames, EveryOptionTakingAShippedConfigListsTheNames) {
  size_t checked = 0;
  for (const auto& [path, help] : help_tree()) {
    for (const HelpOption& o : options_in_help(help)) {
      const std::string& flag = o.flags.back();
      std::string want;
      if (flag == "--tagset") want = "tagsets";
      if (flag == "--policy") want = "policies";
      if (flag == "--score-config" || (path == "score" && flag == "--config")) want = "score configs";
      if ((path == "train" || path == "demo") && flag == "--model") {
        EXPECT_NE(o.text.find("presets: "), std::string::npos) << path << " " << flag;
        continue;
      }
      if (want.empty()) continue;
      ++checked;
      EXPECT_EQ(listed_kind(o.text), want) << "prealign " << path << " " << flag << ":\n" << o.text;
      std::smatch m;
      if (std::regex_search(o.text, m, std::regex(R"(^ +\S+ TEXT=(\S+))"))) {  // "--policy TEXT=ai_mode"
        const std::vector<std::string> names = shipped_files(kFolderOf.at(want));
        EXPECT_NE(std::find(names.begin(), names.end(), m[1].str()), names.end())
            << "default " << m[1] << " of prealign " << path << " " << flag;
      }
    }
  }
  EXPECT_GE(checked, 15u);
}
