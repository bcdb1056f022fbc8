#include "tasks/answer.hpp"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace prealign {

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
static bool is_word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
                                          (static_cast<unsigned char>(c) & 0x80); }

std::string to_lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

std::string_view answer_region(std::string_view completion, bool* has_answer_line) {
  const std::string lower = to_lower_ascii(completion);
  const size_t pos = lower.rfind("answer:");
  if (has_answer_line) *has_answer_line = pos != std::string::npos;
  if (pos == std::string::npos) return completion;
  std::string_view rest = completion.substr(pos + 7);
  const size_t nl = rest.find('\n');
  return nl == std::string_view::npos ? rest : rest.substr(0, nl);
}

// One number token starting at `b` (a digit): its end, its digits without
// commas, and whether its fraction (if any) is all zeros.
struct NumberToken {
  size_t end;
  std::string digits;
  bool integral;
};

static NumberToken read_number(std::string_view s, size_t b) {
  NumberToken t{b, "", true};
  size_t i = b;
  while (i < s.size() && is_digit(s[i])) t.digits += s[i++];
  // digit groups: only when the first group has 1-3 digits and every later one exactly 3
  if (t.digits.size() <= 3) {
    while (i + 3 < s.size() + 0 && s[i] == ',' && is_digit(s[i + 1]) && is_digit(s[i + 2]) && is_digit(s[i + 3]) &&
           (i + 4 >= s.size() || !is_digit(s[i + 4]))) {
      t.digits.append(s.substr(i + 1, 3));
      i += 4;
    }
  }
  if (i + 1 < s.size() && s[i] == '.' && is_digit(s[i + 1])) {
    ++i;
    while (i < s.size() && is_digit(s[i])) {
      if (s[i] != '0') t.integral = false;
      ++i;
    }
  }
  t.end = i;
  return t;
}

std::optional<int64_t> last_integer(std::string_view text) {
  std::optional<int64_t> last;
  bool last_valid = false;
  for (size_t i = 0; i < text.size();) {
    if (!is_digit(text[i])) {
      ++i;
      continue;
    }
    // a minus sign right before the number, itself not part of a word or an
    // expression like "12-5" (there it is an operator)
    const bool negative = i > 0 && text[i - 1] == '-' && (i < 2 || !is_word_char(text[i - 2]));
    NumberToken t = read_number(text, i);
    i = t.end;
    last_valid = false;
    if (!t.integral || t.digits.size() > 18) continue;
    last = std::strtoll(t.digits.c_str(), nullptr, 10) * (negative ? -1 : 1);
    last_valid = true;
  }
  if (!last_valid) return std::nullopt;
  return last;
}

std::string exact_answer(std::string_view text) {
  std::string s = trim(text);
  if (s.size() >= 2) {
    const char q = s.front();
    if ((q == '"' || q == '\'' || q == '`') && s.back() == q) s = trim(std::string_view(s).substr(1, s.size() - 2));
  }
  return s;
}

std::string extract_code(std::string_view completion, bool* fenced) {
  if (fenced) *fenced = false;
  const size_t close = completion.rfind("```");
  if (close == std::string_view::npos || close == 0) return std::string(completion);
  const size_t open = completion.rfind("```", close - 1);
  if (open == std::string_view::npos) return std::string(completion);
  std::string_view body = completion.substr(open + 3, close - open - 3);
  const size_t nl = body.find('\n');  // the info string ("python") up to the first newline
  if (nl == std::string_view::npos) return std::string(completion);
  if (fenced) *fenced = true;
  return std::string(body.substr(nl + 1));
}

size_t count_words(std::string_view s) {
  size_t n = 0;
  bool in_word = false;
  for (char c : s) {
    if (is_space(c)) in_word = false;
    else if (!in_word) in_word = true, ++n;
  }
  return n;
}

bool contains_word(std::string_view text, std::string_view word) {
  if (word.empty()) return false;
  const std::string t = to_lower_ascii(text), w = to_lower_ascii(word);
  for (size_t p = t.find(w); p != std::string::npos; p = t.find(w, p + 1)) {
    const bool left = p == 0 || !is_word_char(t[p - 1]);
    const bool right = p + w.size() >= t.size() || !is_word_char(t[p + w.size()]);
    if (left && right) return true;
  }
  return false;
}

}  // namespace prealign

#include "core/error.hpp"

namespace prealign {

static void check_spec(const nlohmann::json& spec, const std::string& where) {
  if (!spec.is_object() || !spec.contains("type") || !spec.at("type").is_string())
    fail(where, "a verifier spec must be an object with a string \"type\"");
  const std::string type = spec.at("type").get<std::string>();
  if (type == "number") {
    if (!spec.contains("answer") || !spec.at("answer").is_number_integer())
      fail(where, "a \"number\" verifier needs an integer \"answer\"");
  } else if (type == "exact") {
    if (!spec.contains("answer") || !spec.at("answer").is_string())
      fail(where, "an \"exact\" verifier needs a string \"answer\"");
  } else {
    fail(where, "verifier type \"" + type + "\" where \"number\" or \"exact\" was expected");
  }
}

AnswerCheck check_plain_answer(const nlohmann::json& spec, std::string_view completion, const std::string& where) {
  check_spec(spec, where);
  AnswerCheck c;
  const std::string_view region = answer_region(completion, &c.has_answer_line);
  if (spec.at("type") == "number") {
    const int64_t want = spec.at("answer").get<int64_t>();
    const std::optional<int64_t> got = last_integer(region);
    c.correct = got && *got == want;
    c.reason = !got ? "no integer found in the answer" : c.correct ? "correct" : "wrong number " + std::to_string(*got);
  } else {
    const std::string got = exact_answer(region);
    c.correct = got == spec.at("answer").get<std::string>();
    c.reason = got.empty() ? "empty answer" : c.correct ? "correct" : "wrong text";
  }
  return c;
}

AnswerCheck check_answer_value(const nlohmann::json& spec, const nlohmann::json& value, const std::string& where) {
  check_spec(spec, where);
  AnswerCheck c;
  c.has_answer_line = true;
  if (spec.at("type") == "number") {
    // an integer, or a string holding exactly one (the JSON may quote it)
    std::optional<int64_t> got;
    if (value.is_number_unsigned() && value.get<uint64_t>() > uint64_t(INT64_MAX)) got = std::nullopt;
    else if (value.is_number_integer()) got = value.get<int64_t>();
    else if (value.is_number_float() && value.get<double>() == std::floor(value.get<double>()) &&
             std::abs(value.get<double>()) < 9e15)
      got = static_cast<int64_t>(value.get<double>());
    else if (value.is_string() && trim(value.get<std::string>()) == std::to_string(last_integer(value.get<std::string>()).value_or(-1)))
      got = last_integer(value.get<std::string>());
    c.correct = got && *got == spec.at("answer").get<int64_t>();
    c.reason = !got ? "the answer is not an integer" : c.correct ? "correct" : "wrong number " + std::to_string(*got);
  } else {
    c.correct = value.is_string() && exact_answer(value.get<std::string>()) == spec.at("answer").get<std::string>();
    c.reason = !value.is_string() ? "the answer is not a string" : c.correct ? "correct" : "wrong text";
  }
  return c;
}

}  // namespace prealign
