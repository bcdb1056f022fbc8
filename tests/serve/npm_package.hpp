// An npm package at a pinned version, installed on first use into a cache
// folder ($PREALIGN_NPM_CACHE, else ~/.cache/prealign/npm; the test's scratch
// folder when neither can be written) so reruns do not reinstall. The tests
// that drive prealign from Node (the official openai client, the page in
// Chromium) use it, and are skipped, saying why, when it cannot be had.
#pragma once
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/json_io.hpp"
#include "test_util.hpp"

namespace prealign::testing {

inline std::string last_lines(const std::string& s, size_t n) {
  size_t at = s.size();
  for (size_t k = 0; k <= n && at != std::string::npos && at > 0; ++k) at = s.rfind('\n', at - 1);
  return at == std::string::npos ? s : s.substr(at + 1);
}

inline std::string installed_npm_version(const std::string& package_dir) {
  std::ifstream in(package_dir + "/package.json");
  if (!in) return "";
  const json j = json::parse(in, nullptr, false);
  return j.is_object() ? j.value("version", "") : "";
}

// The cache folder, <base>/<name>-<version>, as scripts/page_screenshot.sh finds it too.
inline std::string npm_cache_dir(const std::string& name, const std::string& version, const std::string& scratch) {
  namespace fs = std::filesystem;
  std::string base;
  if (const char* c = std::getenv("PREALIGN_NPM_CACHE")) base = c;
  else if (const char* home = std::getenv("HOME")) base = std::string(home) + "/.cache/prealign/npm";
  std::error_code ec;
  if (!base.empty()) fs::create_directories(base, ec);
  if (base.empty() || ec || ::access(base.c_str(), W_OK) != 0) base = scratch + "/npm";
  return base + "/" + name + "-" + version;
}

// The folder of package `name` at `version` (node_modules/<name>), installed if
// missing. "" and *why when node, npm or the registry are missing.
inline std::string npm_package(const std::string& name, const std::string& version, const std::string& scratch,
                               std::string* why) {
  namespace fs = std::filesystem;
  int status = 0;
  run_capture("command -v node && command -v npm", &status);
  if (status != 0) {
    *why = "node or npm is not installed (Debian: apt-get install nodejs npm)";
    return "";
  }
  const std::string dir = npm_cache_dir(name, version, scratch);
  if (installed_npm_version(dir + "/node_modules/" + name) == version) return dir + "/node_modules/" + name;
  // Installed aside, then renamed: a run cut short leaves no half package to be taken for a whole one.
  const std::string staging = dir + ".partial-" + std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(staging, ec);
  fs::create_directories(staging, ec);
  const std::string out = run_capture("timeout 300 npm install --prefix '" + staging +
                                          "' --no-audit --no-fund --no-save --fetch-retries=1 --fetch-timeout=60000 " +
                                          name + "@" + version + " 2>&1",
                                      &status);
  if (status != 0 || installed_npm_version(staging + "/node_modules/" + name) != version) {
    fs::remove_all(staging, ec);
    *why = "npm could not install " + name + "@" + version + " (is the npm registry reachable?): " + last_lines(out, 4);
    return "";
  }
  fs::rename(staging, dir, ec);
  if (ec) fs::remove_all(staging, ec);  // another run installed it meanwhile
  return dir + "/node_modules/" + name;
}

}  // namespace prealign::testing
