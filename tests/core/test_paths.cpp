// Shipped configs by name or path, from any working directory (core/paths.hpp).
// The expected names come from listing the source tree's configs/ here, not
// from shipped_names, so a listing bug cannot agree with itself.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/paths.hpp"
#include "test_util.hpp"

using namespace prealign;
using namespace prealign::testing;
namespace fs = std::filesystem;

namespace {

// Runs the test from another directory, as a user outside the repository would.
struct InDirectory {
  std::string before = fs::current_path().string();
  explicit InDirectory(const std::string& dir) { fs::current_path(dir); }
  ~InDirectory() { fs::current_path(before); }
};

struct WithEnv {
  std::string name;
  std::string before;
  bool had = false;
  WithEnv(std::string n, const std::string& value) : name(std::move(n)) {
    if (const char* v = std::getenv(name.c_str())) had = true, before = v;
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  ~WithEnv() { had ? ::setenv(name.c_str(), before.c_str(), 1) : ::unsetenv(name.c_str()); }
};

std::vector<std::string> json_files_in(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && e.path().extension() == ".json") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

void write(const std::string& path, const std::string& text) {
  if (fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << text;
}

std::string error_of(const std::string& value, const std::string& folder) {
  try {
    resolve_config(value, folder);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

const char* const kFolders[] = {kTagsetFolder, kPolicyFolder, kScoreConfigFolder};

}  // namespace

TEST(Paths, EveryShippedNameResolvesFromAnyWorkingDirectory) {
  InDirectory elsewhere(temp_dir());
  for (const std::string folder : kFolders) {
    const std::vector<std::string> files = json_files_in(source_path(folder));
    ASSERT_FALSE(files.empty()) << folder;
    EXPECT_EQ(shipped_names(folder), files) << folder;
    for (const std::string& name : files) {
      const std::string shipped = read_file(source_path(folder + "/" + name + ".json"));
      // the name, the name with .json, and the path as written from the source tree
      for (const std::string& given : {name, name + ".json", folder + "/" + name + ".json"})
        EXPECT_EQ(read_file(resolve_config(given, folder)), shipped) << given;
    }
  }
}

TEST(Paths, AnUnknownNameIsAnErrorListingTheShippedNames) {
  InDirectory elsewhere(temp_dir());
  const std::string e = error_of("good_onyl", kPolicyFolder);
  EXPECT_NE(e.find("good_onyl"), std::string::npos) << e;
  for (const std::string& name : json_files_in(source_path(kPolicyFolder)))
    EXPECT_NE(e.find(name), std::string::npos) << name << " missing from: " << e;
  // a path outside the shipped folder is not looked up as shipped
  EXPECT_NE(error_of("other/good_only.json", kPolicyFolder).find("no such file"), std::string::npos);
  // a policy name is not a tagset
  EXPECT_NE(error_of("good_only", kTagsetFolder), "");
}

TEST(Paths, AUserFileWinsAndADirectoryOfThatNameDoesNot) {
  const std::string dir = temp_dir();
  InDirectory here(dir);
  write("mine.json", "{}");
  EXPECT_EQ(resolve_config("mine.json", kPolicyFolder), "mine.json");
  fs::create_directories("good_only");  // e.g. a run directory named like the policy
  const std::string resolved = resolve_config("good_only", kPolicyFolder);
  EXPECT_EQ(read_file(resolved), read_file(source_path("configs/policies/good_only.json"))) << resolved;
}

TEST(Paths, PrealignHomeIsSearchedFirstAndListed) {
  const std::string home = temp_dir();
  write(home + "/configs/policies/good_only.json", "{\"from\": \"home\"}");
  write(home + "/configs/policies/house_rules.json", "{}");
  WithEnv env("PREALIGN_HOME", home);
  EXPECT_EQ(read_file(resolve_config("good_only", kPolicyFolder)), "{\"from\": \"home\"}");
  const std::vector<std::string> names = shipped_names(kPolicyFolder);
  EXPECT_NE(std::find(names.begin(), names.end(), "house_rules"), names.end());
  EXPECT_EQ(std::count(names.begin(), names.end(), "good_only"), 1);  // listed once though found twice
}
