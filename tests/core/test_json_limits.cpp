// JSON read from outside: nesting bounded before parsing (a 70,000-deep line
// used to overflow the stack when the value was copied), integer fields refused
// when nlohmann would truncate or wrap them.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "core/json_io.hpp"

using namespace prealign;

namespace {

// Depth by an independent route: parse (small inputs only) and walk the value.
int depth_of(const json& j) {
  int d = 0;
  if (j.is_array() || j.is_object())
    for (const auto& x : j) d = std::max(d, depth_of(x));
  return (j.is_array() || j.is_object()) ? d + 1 : 0;
}

std::string nested(int levels) { return std::string(levels, '[') + std::string(levels, ']'); }

}  // namespace

TEST(JsonLimits, ScanDepthEqualsTheParsedDepth) {
  const std::vector<std::string> texts = {
      "1", "[]", "[[1],[[2]]]", R"({"a": [{"b": {}}], "c": "[[[[[[["})", R"(["\"[[[", {"k": "\\"}, [[]]])",
      R"({"[": {"{": ["]]]]", {"x": [1, [2, [3]]]}]}})", nested(40)};
  for (const std::string& t : texts) EXPECT_EQ(json_nesting_depth(t, 1000), depth_of(json::parse(t))) << t;
}

TEST(JsonLimits, DeepNestingIsRefusedNamingTheRecord) {
  const std::string deep = std::string(70000, '[');  // the 140 KB line of the bug report, unclosed
  try {
    parse_json(deep, "corpus.jsonl:3");
    FAIL() << "70,000 nested [ were accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("corpus.jsonl:3"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("nested more than"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse_json(nested(kMaxJsonDepth + 1), "x"), Error);
  EXPECT_EQ(depth_of(parse_json(nested(kMaxJsonDepth), "x")), kMaxJsonDepth);  // the limit itself is fine
  // brackets inside strings are text, however many
  EXPECT_EQ(parse_json("[\"" + std::string(70000, '[') + "\"]", "x")[0].get<std::string>().size(), 70000u);
}

// Found by fuzz/openai_request: nlohmann reports a number too large for a
// double as out_of_range, not parse_error, which escaped as an "internal error"
// (and was not skipped by --skip-bad).
TEST(JsonLimits, NumbersOutOfRangeAreInvalidJsonNamingTheRecord) {
  for (const char* text : {"[1e999]", R"({"text": "x", "n": -1e400})", "1e18446744073709551615"}) {
    try {
      parse_json(text, "corpus.jsonl:7");
      ADD_FAILURE() << text << " parsed";
    } catch (const Error& e) {
      EXPECT_EQ(e.where(), "corpus.jsonl:7");
      EXPECT_NE(std::string(e.what()).find("invalid JSON"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(parse_json("1.7e308", "x").get<double>(), 1.7e308);  // large but finite is fine
}

TEST(JsonLimits, IntegerFieldsAreIntegersInRange) {
  const json j = json::parse(R"({"a": 32, "b": 32.0, "c": 32.5, "d": -1, "e": 1e30, "f": 4294967296, "g": "32",
                                 "h": 9223372036854775807, "i": 18446744073709551615})");
  EXPECT_EQ(json_required<int>(j, "a", "cfg"), 32);
  EXPECT_EQ(json_required<int>(j, "b", "cfg"), 32);
  EXPECT_EQ(json_required<int>(j, "d", "cfg"), -1);
  EXPECT_EQ(json_required<int64_t>(j, "h", "cfg"), INT64_MAX);
  EXPECT_EQ(json_required<uint64_t>(j, "i", "cfg"), UINT64_MAX);
  for (const char* bad : {"c", "e", "f", "g"}) {
    try {
      json_required<int>(j, bad, "config.json");
      ADD_FAILURE() << bad << " accepted as an int";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(std::string("\"") + bad + "\""), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(json_required<uint32_t>(j, "d", "cfg"), Error);  // -1 would wrap to 4294967295
  EXPECT_THROW(json_required<int64_t>(j, "i", "cfg"), Error);
  EXPECT_EQ(json_optional<int>(j, "missing", 7, "cfg"), 7);
}
