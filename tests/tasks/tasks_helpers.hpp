// Shared by the tasks tests: making tasks of one family and verifying text.
#pragma once
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tasks/make.hpp"
#include "tasks/verifier.hpp"

namespace prealign::testing {

inline std::vector<TaskRecord> make_family(const std::string& kind, size_t n, uint64_t seed = 7) {
  MakeOptions o;
  o.kind = kind;
  o.n = n;
  o.seed = seed;
  return make_tasks(o);
}

inline Verdict verify(const TaskRecord& t, const std::string& completion) {
  static const Verifier verifier;
  return verifier.verify(t, completion);
}

// The text between the first pair of double quotes after `from`.
inline std::string quoted(const std::string& text, size_t from = 0) {
  const size_t a = text.find('"', from);
  const size_t b = text.find('"', a + 1);
  return text.substr(a + 1, b - a - 1);
}

}  // namespace prealign::testing
