#include "tasks/make.hpp"

#include <algorithm>
#include <cstdio>
#include <set>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/progress.hpp"
#include "core/rng.hpp"
#include "tasks/corpus_tasks.hpp"
#include "tasks/generators.hpp"
#include "tasks/system_rules.hpp"

namespace prealign {

uint64_t stable_hash(std::string_view text) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ULL;
  return h;
}

bool in_test_split(uint64_t key, double test_fraction) {
  constexpr uint64_t kSplitSalt = 0x7a5b5f5e11u;  // fixed: changing it would move records between splits
  return hash_unit(kSplitSalt, key) < test_fraction;
}

uint64_t record_seed(uint64_t seed, std::string_view family, uint64_t index) {
  return hash_combine(hash_combine(seed, stable_hash(family)), index) & ((uint64_t(1) << 53) - 1);
}

const std::vector<std::string>& task_kinds() {
  static const std::vector<std::string> k = {"arithmetic", "strings",     "python",       "pep8-lines",
                                             "masked-span", "system-rules", "all"};
  return k;
}

std::vector<std::string> families_of_kind(const std::string& kind) {
  if (kind == "system-rules") return system_rule_families();
  if (kind == "all") return all_families();
  for (const auto& k : task_kinds())
    if (k == kind && k != "all") return {kind};
  std::string names;
  for (const auto& k : task_kinds()) names += (names.empty() ? "" : ", ") + k;
  fail("--kind", "unknown task kind \"" + kind + "\"", "one of: " + names);
}

std::vector<std::string> all_families() {
  std::vector<std::string> f = {"arithmetic", "strings", "python", "pep8-lines", "masked-span"};
  for (const auto& r : system_rule_families()) f.push_back(r);
  return f;
}

namespace {

std::string task_id(const std::string& family, uint64_t seed, uint64_t index) {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%06llu", static_cast<unsigned long long>(index));
  return family + "-s" + std::to_string(seed) + "-" + digits;
}

// One procedural record from its own seed.
TaskRecord procedural_task(const std::string& family, uint64_t seed, int max_digits) {
  Rng rng(seed);
  TaskRecord t;
  t.family = family;
  t.seed = seed;
  if (family.rfind("system-", 0) == 0) {
    RuleTask r = system_rule_task(family, rng, max_digits);
    t.variant = r.variant;
    t.system = r.system;
    t.prompt = r.prompt;
    t.verifier = r.verifier;
    return t;
  }
  Question q = family == "arithmetic" ? arithmetic_question(rng, max_digits)
               : family == "strings"  ? string_question(rng)
                                      : python_question(rng);
  t.variant = q.variant;
  t.prompt = q.verifier.at("type") == "python" ? q.text : q.text + "\n" + kAnswerLineInstruction;
  t.verifier = q.verifier;
  return t;
}

// n distinct records (by system prompt and prompt) of a procedural family: a
// duplicate is skipped and the next index tried, so ids can have gaps.
std::vector<TaskRecord> procedural_tasks(const std::string& family, size_t n, uint64_t seed, int max_digits) {
  std::vector<TaskRecord> out;
  std::set<std::string> seen;
  const uint64_t max_index = 20 * static_cast<uint64_t>(n) + 1000;
  for (uint64_t index = 0; out.size() < n && index < max_index; ++index) {
    TaskRecord t = procedural_task(family, record_seed(seed, family, index), max_digits);
    if (!seen.insert(t.system + "\x1f" + t.prompt).second) continue;
    t.id = task_id(family, seed, index);
    out.push_back(std::move(t));
  }
  if (out.size() < n) note("tasks: " + family + ": only " + std::to_string(out.size()) + " distinct tasks");
  return out;
}

std::vector<std::string> corpus_files(const std::vector<std::string>& inputs, const std::string& family) {
  if (inputs.empty())
    fail("--corpus", family + " tasks are cut from a corpus, and none was given",
         family == "pep8-lines" ? "e.g. --corpus /usr/lib/python3.11/json (Python files; directories are searched for *.py)"
                                : "e.g. --corpus /usr/share/common-licenses/GPL-3 (text files or directories)");
  std::vector<std::string> files;
  for (const auto& in : inputs) {
    if (!file_exists(in)) fail(in, "no such file or directory", "check the --corpus path");
    for (const auto& f : list_files(in, family == "pep8-lines" && is_directory(in) ? "*.py" : "*")) files.push_back(f);
  }
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  if (files.empty()) fail("--corpus", "no files found for " + family);
  return files;
}

}  // namespace

std::vector<TaskRecord> make_tasks(const MakeOptions& o) {
  if (!(o.test_fraction >= 0 && o.test_fraction <= 1)) fail("--test-fraction", "must be within [0, 1]");
  if (o.max_digits < 0 || o.max_digits > 7) fail("--max-digits", "must be within [0, 7] (0: the family's own ranges)");
  const std::vector<std::string> families = families_of_kind(o.kind);
  const std::vector<std::string> known = all_families();
  for (const auto& h : o.held_out_families)
    if (std::find(known.begin(), known.end(), h) == known.end())
      fail("--held-out-families", "unknown family \"" + h + "\"", "families: see `prealign tasks make --help`");
  std::vector<TaskRecord> out;
  for (const auto& family : families) {
    std::vector<TaskRecord> part;
    if (family == "pep8-lines") part = make_pep8_line_tasks(corpus_files(o.corpus, family), o.n, o.seed, o.python);
    else if (family == "masked-span") part = make_masked_span_tasks(corpus_files(o.corpus, family), o.n, o.seed);
    else part = procedural_tasks(family, o.n, o.seed, o.max_digits);
    if (part.size() < o.n && (family == "pep8-lines" || family == "masked-span"))
      note("tasks: " + family + ": the corpus gave " + std::to_string(part.size()) + " of " + std::to_string(o.n) + " tasks");
    const bool held_out = std::find(o.held_out_families.begin(), o.held_out_families.end(), family) != o.held_out_families.end();
    for (auto& t : part) {
      t.split = held_out || in_test_split(t.seed, o.test_fraction) ? "test" : "train";
      out.push_back(std::move(t));
    }
  }
  return out;
}

}  // namespace prealign
