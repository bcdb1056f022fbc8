// Answer extraction, case by case (tasks/answer.hpp documents the rules).
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "tasks/answer.hpp"

using namespace prealign;

TEST(AnswerExtraction, TheRegionIsAfterTheLastAnswerLabel) {
  bool has = false;
  EXPECT_EQ(answer_region("I think 3.\nAnswer: 42\nthanks", &has), " 42");
  EXPECT_TRUE(has);
  EXPECT_EQ(answer_region("answer: 1\nANSWER: 2", &has), " 2");
  EXPECT_EQ(answer_region("just 7", &has), "just 7");
  EXPECT_FALSE(has);
}

TEST(AnswerExtraction, LastIntegerIsStrict) {
  EXPECT_EQ(last_integer("it is 12 or 13"), 13);
  EXPECT_EQ(last_integer("-45"), -45);
  EXPECT_EQ(last_integer("x = -45"), -45);
  EXPECT_EQ(last_integer("12-5"), 5);  // an operator, not a sign
  EXPECT_EQ(last_integer("1,234,567"), 1234567);
  EXPECT_EQ(last_integer("1,2,3"), 3);
  EXPECT_EQ(last_integer("42.0"), 42);
  EXPECT_EQ(last_integer("42.5"), std::nullopt);
  EXPECT_EQ(last_integer("nothing"), std::nullopt);
  EXPECT_EQ(last_integer("99999999999999999999999"), std::nullopt);
  EXPECT_EQ(last_integer("7 then 42.5"), std::nullopt);  // the last number decides, and it is not an integer
}

TEST(AnswerExtraction, ExactTextTrimsWhitespaceAndOnePairOfQuotes) {
  EXPECT_EQ(exact_answer("  abc \n"), "abc");
  EXPECT_EQ(exact_answer("\"abc\""), "abc");
  EXPECT_EQ(exact_answer("`abc`"), "abc");
  EXPECT_EQ(exact_answer("\"abc'"), "\"abc'");
  EXPECT_EQ(exact_answer("abc."), "abc.");
}

TEST(AnswerExtraction, CodeIsTheLastFencedBlock) {
  bool fenced = false;
  EXPECT_EQ(extract_code("Here:\n```python\ndef f():\n    return 1\n```\nDone.", &fenced), "def f():\n    return 1\n");
  EXPECT_TRUE(fenced);
  EXPECT_EQ(extract_code("```\na\n```\n```py\nb\n```", &fenced), "b\n");
  EXPECT_EQ(extract_code("def f(): pass", &fenced), "def f(): pass");
  EXPECT_FALSE(fenced);
}

TEST(AnswerExtraction, WordsAndWholeWordMatches) {
  EXPECT_EQ(count_words("  one two\tthree\n"), 3u);
  EXPECT_EQ(count_words(""), 0u);
  EXPECT_TRUE(contains_word("The Banana.", "banana"));
  EXPECT_FALSE(contains_word("bananas", "banana"));
  EXPECT_FALSE(contains_word("this", "is"));
  EXPECT_TRUE(contains_word("it is", "is"));
}

TEST(AnswerExtraction, PlainAnswerChecks) {
  const nlohmann::json number = {{"type", "number"}, {"answer", 188019}};
  EXPECT_TRUE(check_plain_answer(number, "4821 * 39 = 188019\nAnswer: 188,019", "t").correct);
  EXPECT_FALSE(check_plain_answer(number, "Answer: 188019 or 188020", "t").correct);
  EXPECT_FALSE(check_plain_answer(number, "Answer: 188018", "t").correct);
  const nlohmann::json exact = {{"type", "exact"}, {"answer", "elppa"}};
  EXPECT_TRUE(check_plain_answer(exact, "Answer: \"elppa\"", "t").correct);
  EXPECT_FALSE(check_plain_answer(exact, "Answer: Elppa", "t").correct);
  EXPECT_FALSE(check_plain_answer(exact, "Answer: elppa apple", "t").correct);
  EXPECT_THROW(check_plain_answer({{"type", "number"}, {"answer", "x"}}, "1", "t"), Error);
  // the JSON value route (system-json)
  EXPECT_TRUE(check_answer_value(number, 188019, "t").correct);
  EXPECT_TRUE(check_answer_value(number, "188019", "t").correct);
  EXPECT_FALSE(check_answer_value(number, "188019 or so", "t").correct);
  EXPECT_FALSE(check_answer_value(number, nlohmann::json(18446744073709363597ULL), "t").correct);
  EXPECT_FALSE(check_answer_value(exact, 5, "t").correct);
}
