// How an answer is read out of a completion (docs/tasks.md "Answer extraction").
// Strict by design: a wrong answer must never pass; a right answer written in an
// unexpected way may fail, and the reason says so.
//
//   answer region  the text after the last "Answer:" (case-insensitive) up to the
//                  end of that line; without an "Answer:" the whole completion.
//   number         the last integer in the region: -?digits, digits grouped by
//                  commas in threes (1,234) allowed; a fraction must be all zeros
//                  (42.0 is 42, 42.5 is not an integer).
//   exact text     the region with surrounding whitespace removed and one pair of
//                  matching quotes or backticks around it removed, compared byte for byte.
//   code           the last fenced block (```python ... ``` or ``` ... ```), else
//                  the whole completion.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace prealign {

// The answer region; *has_answer_line says whether an "Answer:" was found.
std::string_view answer_region(std::string_view completion, bool* has_answer_line = nullptr);

// The last integer in `text` (see above); nullopt when there is none, when it
// overflows int64, or when it has a non-zero fraction.
std::optional<int64_t> last_integer(std::string_view text);

// `text` trimmed of whitespace and of one pair of matching quotes/backticks.
std::string exact_answer(std::string_view text);

// The code of the last fenced block, else the whole text; *fenced says which.
std::string extract_code(std::string_view completion, bool* fenced = nullptr);

// ASCII helpers shared by the verifiers.
std::string trim(std::string_view s);
std::string to_lower_ascii(std::string_view s);
// Whitespace-separated words.
size_t count_words(std::string_view s);
// True if `word` occurs in `text` as a whole word (letters/digits around it do
// not count as a boundary), case-insensitively.
bool contains_word(std::string_view text, std::string_view word);

}  // namespace prealign

namespace prealign {

// The outcome of checking a "number" or "exact" answer spec against a completion.
struct AnswerCheck {
  bool correct = false;
  bool has_answer_line = false;
  std::string reason;
};

// spec {"type": "number", "answer": integer} or {"type": "exact", "answer": string};
// an Error naming `where` for any other spec.
AnswerCheck check_plain_answer(const nlohmann::json& spec, std::string_view completion, const std::string& where);
// The same check on an answer already extracted (e.g. the "answer" field of a JSON reply).
AnswerCheck check_answer_value(const nlohmann::json& spec, const nlohmann::json& value, const std::string& where);

}  // namespace prealign
