#include "core/paths.hpp"

#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "core/error.hpp"
#include "core/files.hpp"

#ifndef PREALIGN_SOURCE_DIR
#define PREALIGN_SOURCE_DIR "."
#endif

namespace prealign {

static std::string executable_dir() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string p(buf, static_cast<size_t>(n));
  return p.substr(0, p.find_last_of('/'));
}

std::string find_shipped_file(const std::string& relative) {
  std::vector<std::string> roots;
  if (const char* home = std::getenv("PREALIGN_HOME")) roots.push_back(home);
  roots.push_back(".");
  roots.push_back(executable_dir() + "/..");
  roots.push_back(PREALIGN_SOURCE_DIR);
  std::string tried;
  for (const auto& r : roots) {
    std::string p = r + "/" + relative;
    if (file_exists(p)) return p;
    tried += (tried.empty() ? "" : ", ") + p;
  }
  fail(relative, "shipped file not found (tried " + tried + ")", "set PREALIGN_HOME to the prealign source directory");
}

std::string resolve_config(const std::string& name_or_path, const std::string& folder) {
  if (file_exists(name_or_path)) return name_or_path;
  if (name_or_path.find('/') == std::string::npos) {
    std::string rel = folder + "/" + name_or_path;
    if (rel.size() < 5 || rel.compare(rel.size() - 5, 5, ".json") != 0) rel += ".json";
    return find_shipped_file(rel);
  }
  fail(name_or_path, "file not found");
}

}  // namespace prealign
