// Helpers shared by the scorer, pipeline and labeling tests.
#pragma once
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "score/scorer.hpp"
#include "test_util.hpp"  // run_capture

namespace prealign::testing {

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

inline std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline std::vector<Span> line_spans(const std::string& text) {
  std::vector<Span> out;
  uint64_t b = 0;
  for (uint64_t i = 0; i < text.size(); ++i)
    if (text[i] == '\n') {
      out.push_back({b, i + 1});
      b = i + 1;
    }
  if (b < text.size()) out.push_back({b, text.size()});
  return out;
}

inline size_t code_points(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace prealign::testing
