// The arithmetic family: multi-digit addition, subtraction and multiplication.
// The answer is exact in int64 (at most 7 + 1 digits for sums, 8 for products).
#include "tasks/generators.hpp"

namespace prealign {

Question arithmetic_question(Rng& rng, int max_digits) {
  Question q;
  const int op = static_cast<int>(uniform(rng, 0, 2));
  // Digits of an operand: [lo, hi], or 1..max_digits when capped.
  auto digits = [&](int lo, int hi) {
    return static_cast<int>(max_digits > 0 ? uniform(rng, 1, max_digits) : uniform(rng, lo, hi));
  };
  int64_t a, b, answer;
  char sign;
  if (op == 2) {
    a = with_digits(rng, digits(2, 4));
    b = with_digits(rng, digits(1, 4));
    answer = a * b, sign = '*', q.variant = "mul";
  } else {
    a = with_digits(rng, digits(2, 7));
    b = with_digits(rng, digits(2, 7));
    if (op == 0) answer = a + b, sign = '+', q.variant = "add";
    else answer = a - b, sign = '-', q.variant = "sub";
  }
  q.text = "What is " + std::to_string(a) + " " + sign + " " + std::to_string(b) + "?";
  q.verifier = {{"type", "number"}, {"answer", answer}};
  return q;
}

}  // namespace prealign
