// Tasks cut from real text (seed 002: "synthetically generated tasks created
// from internet data"): the corpus is whatever files are given (tests and docs
// use Python sources and licences Debian ships).
//
//   pep8-lines   six consecutive lines of a Python file of which pycodestyle (the
//                pep8 scorer, score/pep8.hpp) finds violations on exactly one;
//                "which line?" -> {"type": "number"} with the line's number (1-6)
//   masked-span  a few lines of text with 1-3 consecutive words replaced by ____;
//                "which words?" -> {"type": "exact"} with the words
//
// Windows never cross a 64-line block, and the split goes by block (make.hpp).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "tasks/task.hpp"

namespace prealign {

inline constexpr int kCorpusBlockLines = 64;

// At most n tasks (fewer when the corpus has fewer candidates); `files` are
// regular files, read as UTF-8 text (files that are not are skipped with a note).
std::vector<TaskRecord> make_pep8_line_tasks(const std::vector<std::string>& files, size_t n, uint64_t seed,
                                             const std::string& python);
std::vector<TaskRecord> make_masked_span_tasks(const std::vector<std::string>& files, size_t n, uint64_t seed);

}  // namespace prealign
