// Each procedural family: the answer the generator stored verifies as correct,
// agrees with an answer recomputed here by another method, and perturbed
// answers verify as wrong.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "core/rng.hpp"
#include "tasks/generators.hpp"
#include "tasks_helpers.hpp"

using namespace prealign;
using namespace prealign::testing;

namespace {

// Schoolbook arithmetic on decimal strings (non-negative), independent of int64.
std::string add_digits(const std::string& a, const std::string& b) {
  std::string out;
  int carry = 0;
  for (size_t i = 0; i < std::max(a.size(), b.size()) || carry; ++i) {
    int d = carry;
    if (i < a.size()) d += a[a.size() - 1 - i] - '0';
    if (i < b.size()) d += b[b.size() - 1 - i] - '0';
    out.insert(out.begin(), static_cast<char>('0' + d % 10));
    carry = d / 10;
  }
  return out;
}

std::string mul_digits(const std::string& a, const std::string& b) {
  std::string total = "0";
  for (size_t i = 0; i < b.size(); ++i) {
    std::string partial = "0";
    for (int k = 0; k < b[b.size() - 1 - i] - '0'; ++k) partial = add_digits(partial, a);
    if (partial != "0") partial += std::string(i, '0');
    total = add_digits(total, partial);
  }
  return total;
}

// a - b by counting up from the smaller (digit strings, then a sign).
std::string sub_digits(const std::string& a, const std::string& b) {
  const bool neg = a.size() < b.size() || (a.size() == b.size() && a < b);
  const std::string& big = neg ? b : a;
  const std::string& small = neg ? a : b;
  std::string out;
  int borrow = 0;
  for (size_t i = 0; i < big.size(); ++i) {
    int d = (big[big.size() - 1 - i] - '0') - borrow - (i < small.size() ? small[small.size() - 1 - i] - '0' : 0);
    borrow = d < 0;
    out.insert(out.begin(), static_cast<char>('0' + (d + 10) % 10));
  }
  out.erase(0, std::min(out.find_first_not_of('0'), out.size() - 1));
  return (neg && out != "0" ? "-" : "") + out;
}

std::string answer_of(const TaskRecord& t) { return t.verifier.at("answer").dump(); }

}  // namespace

TEST(Arithmetic, StoredAnswersAgreeWithSchoolbookArithmeticAndPerturbationsFail) {
  const auto tasks = make_family("arithmetic", 150);
  ASSERT_EQ(tasks.size(), 150u);
  std::set<std::string> variants;
  for (const auto& t : tasks) {
    char a[32], op[4], b[32];
    ASSERT_EQ(std::sscanf(t.prompt.c_str(), "What is %31s %3s %31[0-9]?", a, op, b), 3) << t.prompt;
    const std::string x = a, y = b, o = op;
    const std::string expected = o == "+" ? add_digits(x, y) : o == "-" ? sub_digits(x, y) : mul_digits(x, y);
    EXPECT_EQ(answer_of(t), expected) << t.prompt;
    variants.insert(t.variant);
    EXPECT_TRUE(verify(t, "Let me compute.\nAnswer: " + expected).correct) << t.prompt;
    EXPECT_TRUE(verify(t, expected).correct);
    const int64_t v = std::stoll(expected);
    for (int64_t wrong : {v + 1, v - 1, v * 10 + 1, -v - 1}) {
      const Verdict d = verify(t, "Answer: " + std::to_string(wrong));
      EXPECT_FALSE(d.correct) << t.prompt << " " << wrong;
      EXPECT_EQ(d.reward, 0.0);
    }
    EXPECT_FALSE(verify(t, "Answer: " + expected + " or maybe " + std::to_string(v + 1)).correct);
    EXPECT_FALSE(verify(t, "I don't know").correct);
  }
  EXPECT_EQ(variants, (std::set<std::string>{"add", "sub", "mul"}));
}

TEST(Strings, StoredAnswersAgreeWithHandMadeOnesAndPerturbationsFail) {
  const auto tasks = make_family("strings", 150);
  std::set<std::string> variants;
  for (const auto& t : tasks) {
    variants.insert(t.variant);
    std::string expected;
    if (t.variant == "reverse") {
      const std::string s = quoted(t.prompt);
      for (size_t i = s.size(); i-- > 0;) expected += s[i];
      EXPECT_EQ(t.verifier.at("answer"), expected);
      if (s != expected) {
        EXPECT_FALSE(verify(t, "Answer: " + s).correct);  // the unreversed text
      }
      EXPECT_FALSE(verify(t, "Answer: " + expected + "x").correct);
      EXPECT_FALSE(verify(t, "Answer: " + expected.substr(1)).correct);
    } else if (t.variant == "sort") {
      std::vector<std::string> words;
      std::string list = t.prompt.substr(t.prompt.find(": ") + 2);
      list = list.substr(0, list.find('\n'));
      for (size_t b = 0; b < list.size();) {
        size_t e = list.find(' ', b);
        if (e == std::string::npos) e = list.size();
        words.push_back(list.substr(b, e - b));
        b = e + 1;
      }
      for (size_t i = 1; i < words.size(); ++i)  // insertion sort, by hand
        for (size_t j = i; j > 0 && words[j] < words[j - 1]; --j) std::swap(words[j], words[j - 1]);
      for (const auto& w : words) expected += (expected.empty() ? "" : " ") + w;
      EXPECT_EQ(t.verifier.at("answer"), expected);
      std::reverse(words.begin(), words.end());
      std::string backwards;
      for (const auto& w : words) backwards += (backwards.empty() ? "" : " ") + w;
      EXPECT_FALSE(verify(t, "Answer: " + backwards).correct);
      EXPECT_FALSE(verify(t, "Answer: " + expected + ",").correct);
    } else {
      ASSERT_EQ(t.variant, "count");
      const size_t at = t.prompt.find("letter '") + 8;
      const char letter = t.prompt[at];
      const std::string s = quoted(t.prompt, at + 2);
      int n = 0;
      for (char c : s) n += c == letter;
      expected = std::to_string(n);
      EXPECT_EQ(answer_of(t), expected) << t.prompt;
      EXPECT_FALSE(verify(t, "Answer: " + std::to_string(n + 1)).correct);
    }
    EXPECT_TRUE(verify(t, "Sure.\nAnswer: " + expected).correct) << t.prompt;
    EXPECT_FALSE(verify(t, "").correct);
  }
  EXPECT_EQ(variants, (std::set<std::string>{"reverse", "sort", "count"}));
}

TEST(Verifier, RewardIsInUnitRangeAndFormatWeightOnlyDiscountsCorrectAnswers) {
  const auto tasks = make_family("arithmetic", 1);
  VerifierOptions o;
  o.format_weight = 0.25;
  const Verifier v(o);
  const std::string answer = answer_of(tasks[0]);
  EXPECT_EQ(v.verify(tasks[0], "Answer: " + answer).reward, 1.0);
  EXPECT_EQ(v.verify(tasks[0], answer).reward, 0.75);  // right, without the Answer: line
  EXPECT_EQ(v.verify(tasks[0], "Answer: " + answer + "1").reward, 0.0);
  o.format_weight = 2;
  EXPECT_THROW(Verifier{o}, Error);
}

TEST(Verifier, MalformedSpecsAreErrorsNamingTheTask) {
  TaskRecord t;
  t.id = "broken-1";
  t.verifier = {{"type", "oracle"}};
  try {
    verify(t, "x");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("broken-1"), std::string::npos) << e.what();
  }
  t.verifier = {{"type", "number"}};
  EXPECT_THROW(verify(t, "1"), Error);
}

// Specs and completions from a trainer or a hand-edited file may be anything:
// verify() either gives a verdict or throws prealign::Error, never another
// exception (a crash of `tasks verify`). Shapes drawn at random from pieces.
TEST(Verifier, ArbitrarySpecsGiveAVerdictOrAnErrorNeverACrash) {
  const std::vector<json> values = {json(), 1, -5, 2.5, "x", "number", "exact", "system_rule", true,
                                    json::array(), json::array({1, "a"}), json::object(),
                                    json(18446744073709551615ULL), json::object({{"type", 3}})};
  const std::vector<std::string> keys = {"type", "answer", "rule", "task", "kind", "word", "n", "on_topic", "refusal"};
  const std::vector<std::string> kinds = {"lowercase", "forbidden_word", "max_words", "refuse_topic", "json_answer", "prefix"};
  const std::vector<std::string> completions = {"", "Answer: 5", "{\"answer\": 5}", "{\"answer\": [[[]]]}", "x\n```\n", "\xff"};
  Rng rng(5);
  auto pick = [&](size_t n) { return static_cast<size_t>(uniform(rng, 0, static_cast<int64_t>(n) - 1)); };
  auto random_object = [&](int depth, auto& self) -> json {
    json o = json::object();
    for (size_t k = pick(5); k > 0; --k) {
      const std::string& key = keys[pick(keys.size())];
      if (key == "kind") o[key] = kinds[pick(kinds.size())];
      else if ((key == "rule" || key == "task") && depth < 2) o[key] = self(depth + 1, self);
      else o[key] = values[pick(values.size())];
    }
    if (pick(3)) o["type"] = std::vector<std::string>{"number", "exact", "system_rule", "python"}[pick(4)];
    return o;
  };
  int verdicts = 0, errors = 0;
  for (int i = 0; i < 3000; ++i) {
    TaskRecord t;
    t.id = "fuzz-" + std::to_string(i);
    t.verifier = pick(10) ? random_object(0, random_object) : values[pick(values.size())];
    if (t.verifier.is_object() && t.verifier.value("type", json()).is_string() && t.verifier["type"] == "python")
      t.verifier["type"] = "exact";  // python specs start a sandbox: tested in test_python_sandbox.cpp
    try {
      const Verdict v = verify(t, completions[pick(completions.size())]);
      EXPECT_GE(v.reward, 0.0);
      EXPECT_LE(v.reward, 1.0);
      ++verdicts;
    } catch (const Error&) {
      ++errors;
    }  // anything else fails the test
  }
  EXPECT_GT(verdicts, 10);
  EXPECT_GT(errors, 100);
}
