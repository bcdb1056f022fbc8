// Prompts taken from held-out text, as PHF took function signatures from
// held-out files: the segments of a dataset's validation shards, decoded,
// kept when they match a regular expression, distinct, in corpus order.
#pragma once
#include <string>
#include <vector>

namespace prealign {

struct HeldoutPromptOptions {
  std::string data;                 // dataset directory
  std::string match = "^def .*\\):\\s*$";  // ECMAScript regex on the segment (trailing whitespace removed)
  int max = 1024;                   // at most this many prompts
  int max_chars = 200;              // longer segments are skipped
  std::string out = "prompts.txt";  // one prompt per line

  template <class V>
  void visit(V& v) {
    v("data", data, "dataset directory (prealign tokenize --out)");
    v("match", match, "keep segments matching this regular expression (default: Python function signatures)");
    v("max", max, "at most this many prompts");
    v("max_chars", max_chars, "skip segments longer than this");
    v("out", out, "prompts file to write (one per line)");
  }
};

std::vector<std::string> heldout_prompts(const HeldoutPromptOptions& options);  // also writes options.out

// A segment's text as a one-line prompt: trailing whitespace removed (a sentence
// segment of prose keeps the blank line and indentation after it, "...\n\n  "),
// "" when what is left still spans lines.
std::string prompt_line(std::string text);

}  // namespace prealign
