// Locating the files prealign ships (configs/tagsets, configs/policies, ...).
// Every option that takes a tagset, policy or score config accepts either a path
// or a shipped name, resolved here by resolve_config, from any working directory.
#pragma once
#include <string>
#include <vector>

namespace prealign {

// The folders of shipped configs, as resolve_config and shipped_names take them.
inline constexpr const char* kTagsetFolder = "configs/tagsets";
inline constexpr const char* kPolicyFolder = "configs/policies";
inline constexpr const char* kScoreConfigFolder = "configs/score";

// Finds `relative` (e.g. "configs/tagsets/good_bad.json") in, in order:
// $PREALIGN_HOME, the current directory, the directory above the executable's,
// and the source tree the binary was built from. Error listing the places tried.
std::string find_shipped_file(const std::string& relative);

// The names of the *.json files in `folder` under any of those roots, without
// ".json", sorted and without duplicates: what resolve_config accepts by name.
std::vector<std::string> shipped_names(const std::string& folder);

// A path to a file, or the name of a shipped one:
//   an existing file                      -> itself
//   "good_only" or "good_only.json"       -> <root>/configs/policies/good_only.json
//   "configs/policies/good_only.json"     -> the same, when it is not there from the working directory
// Anything else is an Error that lists the shipped names of `folder`.
std::string resolve_config(const std::string& name_or_path, const std::string& folder);

}  // namespace prealign
