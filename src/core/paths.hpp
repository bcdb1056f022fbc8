// Locating the files prealign ships (configs/tagsets, configs/policies, ...).
#pragma once
#include <string>

namespace prealign {

// Finds `relative` (e.g. "configs/tagsets/good_bad.json") in, in order:
// $PREALIGN_HOME, the current directory, the directory above the executable's,
// and the source tree the binary was built from. Error listing the places tried.
std::string find_shipped_file(const std::string& relative);

// A user path if it exists; otherwise a shipped config by short name:
// resolve_config("good_only", "configs/policies") -> configs/policies/good_only.json.
std::string resolve_config(const std::string& name_or_path, const std::string& folder);

}  // namespace prealign
