#include "core/paths.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "core/error.hpp"
#include "core/files.hpp"

#ifndef PREALIGN_SOURCE_DIR
#define PREALIGN_SOURCE_DIR "."
#endif

namespace prealign {

namespace {

std::string executable_dir() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string p(buf, static_cast<size_t>(n));
  return p.substr(0, p.find_last_of('/'));
}

// Where shipped files are looked for, in order (see paths.hpp).
std::vector<std::string> roots() {
  std::vector<std::string> r;
  if (const char* home = std::getenv("PREALIGN_HOME"); home && *home) r.push_back(home);
  r.push_back(".");
  r.push_back(executable_dir() + "/..");
  r.push_back(PREALIGN_SOURCE_DIR);
  return r;
}

// A directory named like a config ("pep8/" in the working directory) is not the config.
bool is_regular_file(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::string joined_names(const std::string& folder) {
  std::string names;
  for (const std::string& n : shipped_names(folder)) names += (names.empty() ? "" : ", ") + n;
  return names.empty() ? "(none found)" : names;
}

}  // namespace

std::string find_shipped_file(const std::string& relative) {
  std::string tried;
  for (const auto& r : roots()) {
    std::string p = r + "/" + relative;
    if (is_regular_file(p)) return p;
    tried += (tried.empty() ? "" : ", ") + p;
  }
  fail(relative, "shipped file not found (tried " + tried + ")", "set PREALIGN_HOME to the prealign source directory");
}

std::vector<std::string> shipped_names(const std::string& folder) {
  namespace fs = std::filesystem;
  std::vector<std::string> names;
  for (const auto& r : roots()) {
    std::error_code ec;
    for (fs::directory_iterator it(r + "/" + folder, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string file = it->path().filename().string();
      if (ends_with(file, ".json") && is_regular_file(it->path().string()))
        names.push_back(file.substr(0, file.size() - 5));
    }
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::string resolve_config(const std::string& name_or_path, const std::string& folder) {
  if (is_regular_file(name_or_path)) return name_or_path;
  const std::string hint =
      "give a path to a JSON file, or one of the names shipped in " + folder + "/: " + joined_names(folder);
  std::string relative;
  if (name_or_path.find('/') == std::string::npos && !name_or_path.empty()) {
    relative = folder + "/" + name_or_path + (ends_with(name_or_path, ".json") ? "" : ".json");
  } else if (name_or_path.rfind(folder + "/", 0) == 0) {
    relative = name_or_path;  // the path as written from the source tree, used from elsewhere
  } else {
    fail(name_or_path, "no such file", hint);
  }
  for (const auto& r : roots())
    if (is_regular_file(r + "/" + relative)) return r + "/" + relative;
  fail(name_or_path, "no such file, and no shipped file of that name", hint);
}

}  // namespace prealign
