// Small tokenizers trained once and shared by the tokenizer tests: BPE and
// unigram, vocab 1000, on a few of Python's own modules plus synthetic prose.
// ctest runs every test in its own process, so a trained model is cached on
// disk under $PREALIGN_TEST_TMP, keyed by this test binary's identity (a rebuilt
// binary retrains), and published with a rename so parallel tests can share it.
#pragma once
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/files.hpp"
#include "core/json_io.hpp"
#include "core/progress.hpp"
#include "core/rng.hpp"
#include "core/utf8.hpp"
#include "test_util.hpp"
#include "tokenizer/tokenizer.hpp"

namespace prealign::testing {

inline std::string test_tmp_root() {
  const char* base = std::getenv("PREALIGN_TEST_TMP");
  return base ? base : "/tmp/prealign-tests";
}

inline const std::string kPythonDir = "/usr/lib/python3.11";

// Python files of the Debian python3.11 package; training and held-out sets are disjoint.
inline std::vector<std::string> python_files(bool held_out) {
  static const std::vector<std::string> train = {"argparse.py", "textwrap.py", "shutil.py", "configparser.py",
                                                 "string.py",   "fnmatch.py",  "glob.py"};
  static const std::vector<std::string> test = {"difflib.py",  "tokenize.py", "inspect.py", "base64.py",
                                                "calendar.py", "csv.py",      "bisect.py"};
  std::vector<std::string> out;
  for (const auto& f : held_out ? test : train)
    if (file_exists(kPythonDir + "/" + f)) out.push_back(kPythonDir + "/" + f);
  return out;
}

// Seeded prose with the things a corpus throws at a tokenizer: CRLF lines,
// tab-indented blocks, CJK, emoji, and tag look-alikes in the text itself.
inline std::vector<std::string> synthetic_prose(size_t documents, uint64_t seed) {
  static const std::vector<std::string> words = {"the",
                                                 "model",
                                                 "learns",
                                                 "to",
                                                 "write",
                                                 "aligned",
                                                 "text",
                                                 "and",
                                                 "never",
                                                 "acts",
                                                 "badly",
                                                 "while",
                                                 "it",
                                                 "knows",
                                                 "what",
                                                 "bad",
                                                 "behaviour",
                                                 "looks",
                                                 "like",
                                                 "a",
                                                 "human",
                                                 "may",
                                                 "ask",
                                                 "for",
                                                 "help",
                                                 "with",
                                                 "code",
                                                 "data",
                                                 "values",
                                                 "of",
                                                 "all",
                                                 "people",
                                                 "\xE6\x97\xA5\xE6\x9C\xAC",
                                                 "\xE4\xB8\xAD\xE6\x96\x87",
                                                 "\xF0\x9F\x98\x80",
                                                 "caf\xC3\xA9",
                                                 "<AI>",
                                                 "</AI>",
                                                 "<|good|>",
                                                 "<|bad|>",
                                                 "1234"};
  Rng rng(seed);
  std::vector<std::string> docs;
  for (size_t d = 0; d < documents; ++d) {
    std::string doc;
    const size_t sentences = 3 + rng() % 8;
    const bool crlf = rng() % 5 == 0;
    for (size_t s = 0; s < sentences; ++s) {
      if (rng() % 4 == 0) doc += std::string(1 + rng() % 3, '\t');
      const size_t n = 4 + rng() % 12;
      for (size_t w = 0; w < n; ++w) doc += (w ? " " : "") + words[rng() % words.size()];
      doc += crlf ? ".\r\n" : ".\n";
    }
    docs.push_back(doc);
  }
  return docs;
}

inline std::vector<std::string> training_documents() {
  std::vector<std::string> docs;
  for (const auto& f : python_files(false)) docs.push_back(read_file(f));
  for (auto& d : synthetic_prose(600, 7)) docs.push_back(std::move(d));
  return docs;
}

inline Tagset merged_tagset() {
  return Tagset::merge({Tagset::load(source_path("configs/tagsets/good_bad.json")),
                        Tagset::load(source_path("configs/tagsets/ai_modes.json"))});
}

inline std::string binary_key() {
  struct stat st {};
  if (::stat("/proc/self/exe", &st) != 0) return "nokey";
  return std::to_string(static_cast<long long>(st.st_mtime)) + "-" + std::to_string(static_cast<long long>(st.st_size));
}

// Directory with tokenizer.model + tagset.json for `model_type`, trained at most once per build.
inline std::string trained_dir(const std::string& model_type) {
  const std::string dir = test_tmp_root() + "/tokenizer-fixture/" + model_type + "-" + binary_key();
  if (file_exists(dir + "/tokenizer.model")) return dir;
  const std::string staging = dir + ".tmp-" + std::to_string(::getpid());
  remove_all(staging);
  make_directories(staging);
  const std::vector<std::string> docs = training_documents();
  size_t next = 0;
  TokenizerTrainOptions o;
  o.model_type = model_type;
  o.vocab_size = 1000;
  o.threads = 1;
  o.seed = 42;
  Tagset tags = merged_tagset();
  set_quiet(true);
  try {
    Tokenizer::train(
        [&](std::string& text) {
          if (next >= docs.size()) return false;
          text = docs[next++];
          return true;
        },
        tags, o, staging + "/tokenizer.model");
    write_json_file(staging + "/tagset.json", tags.to_json());
  } catch (...) {
    set_quiet(false);
    remove_all(staging);
    throw;
  }
  set_quiet(false);
  std::error_code ec;
  std::filesystem::rename(staging, dir, ec);  // another process may have won the race: use its copy
  if (ec) remove_all(staging);
  // Models of earlier builds are stale now.
  const std::string prefix = model_type + "-";
  for (const auto& e : std::filesystem::directory_iterator(test_tmp_root() + "/tokenizer-fixture", ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && e.path() != dir && name.find(".tmp-") == std::string::npos)
      std::filesystem::remove_all(e.path(), ec);
  }
  return dir;
}

inline const Tokenizer& trained(const std::string& model_type) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto& slot = cache[model_type];
  if (!slot) slot = std::make_unique<Tokenizer>(Tokenizer::load_dir(trained_dir(model_type)));
  return *slot;
}

}  // namespace prealign::testing
