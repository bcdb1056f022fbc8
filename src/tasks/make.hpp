// `prealign tasks make`: which families a --kind stands for, the per-record
// seeds, the train/test split and the de-duplication (docs/tasks.md "Splits").
//
// Splits. A record is "test" when its family is in held_out_families (a whole
// family never trained on: e.g. a system rule), and otherwise when
// hash(record key) < test_fraction, where the key is, for procedural families,
// the record's own generator seed (a pure function of --seed, the family and the
// record's index: the same record gets the same split whatever --n or --kind),
// and for corpus families the block of 64 source lines the task was cut from (a
// test task's text never appears in a train task).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tasks/task.hpp"

namespace prealign {

struct MakeOptions {
  std::string kind = "all";
  size_t n = 100;      // per family
  uint64_t seed = 0;
  double test_fraction = 0.1;
  std::vector<std::string> held_out_families;
  std::vector<std::string> corpus;  // files or directories, for pep8-lines and masked-span
  std::string python;               // interpreter with pycodestyle ("" = /usr/bin/python3)
  int max_digits = 0;               // arithmetic operands of 1..N digits (0: the family's own ranges)

  template <class V>
  void visit(V& v) {
    v("kind", kind, "arithmetic, strings, python, pep8-lines, masked-span, system-rules or all");
    v("n", n, "tasks per family (corpus families: at most this many)");
    v("seed", seed, "generator seed: the same seed gives the same file");
    v("test_fraction", test_fraction, "fraction of records (by record seed / corpus block) in the test split");
    v("held_out_families", held_out_families, "families put wholly in the test split, comma-separated, e.g. system-json,system-prefix");
    v("corpus", corpus, "files or directories the pep8-lines and masked-span tasks are cut from (directories: *.py for pep8-lines)");
    v("python", python, "python3 with pycodestyle for pep8-lines (default /usr/bin/python3)");
    v("max_digits", max_digits,
      "arithmetic (also under system rules): operands of 1..N digits, for small models (0: 2-7 digits, mul 2-4 by 1-4)");
  }
};

// The kinds --kind accepts and the families each stands for.
const std::vector<std::string>& task_kinds();
std::vector<std::string> families_of_kind(const std::string& kind);
std::vector<std::string> all_families();

std::vector<TaskRecord> make_tasks(const MakeOptions& options);

// Split helpers shared by the generators.
uint64_t stable_hash(std::string_view text);  // FNV-1a, the same on every platform
bool in_test_split(uint64_t key, double test_fraction);
uint64_t record_seed(uint64_t seed, std::string_view family, uint64_t index);  // < 2^53

}  // namespace prealign
