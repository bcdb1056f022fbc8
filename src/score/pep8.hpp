// PEP8 violations per character of each line (PHF's pep8 score), computed by
// pycodestyle in a persistent Python worker that sees whole files, so checks
// that need context (blank lines, indentation) work. The worker speaks the
// command scorer protocol; `{"type": "pep8"}` is the scorer preset built on it
// (score/command.hpp), and Pep8Scorer is a small convenience wrapper for code
// that scores single texts (the demo).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "score/scorer.hpp"

namespace prealign {

// Byte ranges of the lines of `text`, each including its "\n"; they cover the text exactly.
std::vector<std::pair<uint64_t, uint64_t>> split_lines(const std::string& text);

class Pep8Scorer {
 public:
  // `python`: interpreter with pycodestyle importable ("" = /usr/bin/python3 if present, else python3).
  explicit Pep8Scorer(std::string python = "");
  ~Pep8Scorer();
  // One score per line of split_lines(text): violations on the line / characters (code points) in it.
  // Error if the worker fails on the text.
  std::vector<float> score_lines(const std::string& text);
  // Violations per character of the whole text (all violations / all characters).
  double score_text(const std::string& text);

 private:
  std::unique_ptr<Scorer> scorer_;
};

// The Python source of the worker (command scorer protocol, docs/scoring.md).
const char* pep8_worker_source();

}  // namespace prealign
