// The procedural task families: each generator is a pure function of one
// per-record seed (make.cpp derives it from --seed, the family and the index),
// so a record is the same whatever else is generated around it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/json_io.hpp"
#include "core/rng.hpp"

namespace prealign {

// A question and what answers it: the verifier spec ({"type": "number", "answer": n}
// or {"type": "exact", "answer": s}); the prompt is the question plus an answer-format line.
struct Question {
  std::string variant;
  std::string text;
  json verifier;
};

// The instruction appended to questions whose verifier reads an "Answer:" line.
inline constexpr const char* kAnswerLineInstruction = "End your reply with a line \"Answer: <your answer>\".";

// arithmetic.cpp: a + b, a - b (2-7 digits), a * b (2-4 digits by 1-4 digits).
// max_digits > 0 makes easier questions for small models: every operand has
// 1..max_digits digits (`tasks make --max-digits`).
Question arithmetic_question(Rng& rng, int max_digits = 0);

// string_transform.cpp: reverse the characters of a string, sort words
// alphabetically, count a letter's occurrences.
Question string_question(Rng& rng);
// The lowercase word list the string tasks draw from (also used by system rules).
const std::vector<std::string>& task_words();

// python_function.cpp: a small function to write, checked by hidden tests run in
// the sandbox. Returns the prompt and the {"type": "python", ...} verifier.
Question python_question(Rng& rng);

// Uniform integer in [lo, hi].
inline int64_t uniform(Rng& rng, int64_t lo, int64_t hi) {
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
}
// A number with exactly `digits` decimal digits.
inline int64_t with_digits(Rng& rng, int digits) {
  int64_t lo = 1;
  for (int i = 1; i < digits; ++i) lo *= 10;
  return uniform(rng, digits == 1 ? 0 : lo, lo * 10 - 1);
}

}  // namespace prealign
