// Tagset files: the shipped tagsets, merging, and every validation error naming
// the file and the tag index.
#include <gtest/gtest.h>

#include <functional>

#include "core/files.hpp"
#include "test_util.hpp"
#include "tokenizer/tagset.hpp"

namespace prealign {
namespace {

using testing::source_path;
using testing::temp_dir;

// Runs `f`, expects an Error whose message contains every one of `needles`.
void expect_error(const std::function<void()>& f, const std::vector<std::string>& needles) {
  try {
    f();
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const std::string& n : needles) EXPECT_NE(msg.find(n), std::string::npos) << "'" << n << "' not in: " << msg;
    return;
  }
  ADD_FAILURE() << "expected an Error";
}

json tag(const std::string& name, const std::string& kind = "marker", const std::string& pair = "") {
  json t = {{"name", name}, {"category", "test"}, {"kind", kind}};
  if (!pair.empty()) t["pair"] = pair;
  return t;
}

Tagset tagset_file(const std::string& dir, const std::vector<json>& tags) {
  const std::string path = dir + "/set.json";
  write_json_file(path, json{{"name", "set"}, {"tags", json(tags)}});
  return Tagset::load(path);
}

TEST(Tagset, ShippedGoodBad) {
  Tagset t = Tagset::load(source_path("configs/tagsets/good_bad.json"));
  EXPECT_EQ(t.name(), "good_bad");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t.tags()[0].name, "<|good|>");
  EXPECT_EQ(t.tags()[1].name, "<|bad|>");
  for (const TagSpec& s : t.tags()) {
    EXPECT_EQ(s.kind, TagKind::Marker);
    EXPECT_EQ(s.category, "alignment");
    EXPECT_TRUE(s.pair.empty());
  }
  EXPECT_EQ(t.tags()[1].attributes.at("polarity"), "bad");
}

TEST(Tagset, ShippedAiModesArePairs) {
  Tagset t = Tagset::load(source_path("configs/tagsets/ai_modes.json"));
  ASSERT_EQ(t.size(), 4u);
  const std::vector<std::pair<std::string, std::string>> pairs = {{"<AI>", "</AI>"},
                                                                  {"<AI_quoting_human>", "</AI_quoting_human>"}};
  for (const auto& [open, close] : pairs) {
    const TagSpec& o = t.get(open, "test");
    const TagSpec& c = t.get(close, "test");
    EXPECT_EQ(o.kind, TagKind::Open);
    EXPECT_EQ(c.kind, TagKind::Close);
    EXPECT_EQ(o.pair, close);
    EXPECT_EQ(c.pair, open);
    EXPECT_EQ(o.category, "mode");
  }
}

TEST(Tagset, JsonRoundTrip) {
  Tagset a = Tagset::load(source_path("configs/tagsets/ai_modes.json"));
  Tagset b = Tagset::from_json(a.to_json(), "round trip");
  EXPECT_EQ(b.name(), a.name());
  EXPECT_EQ(b.description(), a.description());
  ASSERT_EQ(b.size(), a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(b.tags()[i].name, a.tags()[i].name);
    EXPECT_EQ(b.tags()[i].category, a.tags()[i].category);
    EXPECT_EQ(b.tags()[i].kind, a.tags()[i].kind);
    EXPECT_EQ(b.tags()[i].pair, a.tags()[i].pair);
    EXPECT_EQ(b.tags()[i].attributes, a.tags()[i].attributes);
  }
  EXPECT_EQ(b.to_json(), a.to_json());
}

TEST(Tagset, MergeUnionsInOrder) {
  Tagset gb = Tagset::load(source_path("configs/tagsets/good_bad.json"));
  Tagset ai = Tagset::load(source_path("configs/tagsets/ai_modes.json"));
  Tagset m = Tagset::merge({gb, ai, gb});  // a repeated identical declaration is fine
  ASSERT_EQ(m.size(), 6u);
  std::vector<std::string> names;
  for (const auto& t : m.tags()) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"<|good|>", "<|bad|>", "<AI>", "</AI>", "<AI_quoting_human>",
                                             "</AI_quoting_human>"}));
  EXPECT_NE(m.name().find("good_bad"), std::string::npos);
  EXPECT_NE(m.name().find("ai_modes"), std::string::npos);
}

TEST(Tagset, MergeConflictIsError) {
  Tagset a = Tagset::from_json({{"name", "a"}, {"tags", json::array({tag("<|x|>")})}}, "a.json");
  json other = tag("<|x|>");
  other["category"] = "other";
  Tagset b = Tagset::from_json({{"name", "b"}, {"tags", json::array({other})}}, "b.json");
  expect_error([&] { Tagset::merge({a, b}); }, {"<|x|>", "differently"});
}

TEST(Tagset, FindAndGet) {
  Tagset t = Tagset::load(source_path("configs/tagsets/good_bad.json"));
  EXPECT_NE(t.find("<|bad|>"), nullptr);
  EXPECT_EQ(t.find("<|BAD|>"), nullptr);
  EXPECT_EQ(t.find("<|bad|"), nullptr);
  expect_error([&] { t.get("<|ugly|>", "policy.json:3"); }, {"policy.json:3", "<|ugly|>", "<|good|>", "<|bad|>"});
}

TEST(Tagset, NameDefaultsToFileStem) {
  const std::string dir = temp_dir();
  write_json_file(dir + "/mine.json", json{{"tags", json::array({tag("<|x|>")})}});
  EXPECT_EQ(Tagset::load(dir + "/mine.json").name(), "mine");
}

TEST(Tagset, ValidationErrorsNameFileAndIndex) {
  const std::string dir = temp_dir();
  const std::string file = dir + "/set.json";
  auto bad = [&](const std::vector<json>& tags, std::vector<std::string> needles) {
    needles.push_back(file);
    expect_error([&] { tagset_file(dir, tags); }, needles);
  };
  bad({tag("<a>"), tag("<b>"), tag("<a>")}, {"tags[2]", "declared twice", "tags[0]"});
  bad({tag("<a>"), tag("<b>", "toggle")}, {"tags[1]", "unknown kind \"toggle\""});
  bad({tag("<a>", "open", "</a>")}, {"tags[0]", "</a>", "not declared"});
  bad({tag("<a>", "open", "</a>"), tag("</a>", "close", "<b>"), tag("<b>", "open", "</a>")},
      {"tags[0]", "points to \"<b>\", not back"});
  bad({tag("<a>", "open", "<b>"), tag("<b>", "open", "<a>")}, {"tags[0]", "expected close"});
  bad({tag("<a>", "marker", "<b>"), tag("<b>")}, {"tags[0]", "marker"});
  bad({tag("<a>", "open")}, {"tags[0]", "no \"pair\""});
  bad({tag("<a>"), tag("")}, {"tags[1]", "empty tag name"});
  bad({tag("<a b>")}, {"tags[0]", "whitespace"});
  bad({tag("<a>"), tag("<a>\n")}, {"tags[1]", "whitespace"});
  bad({tag("x")}, {"tags[0]", "single character"});
  bad({tag("<s>")}, {"tags[0]", "reserved"});
  bad({tag("<pad>")}, {"tags[0]", "reserved"});
  bad({tag("<0x0A>")}, {"tags[0]", "reserved"});
  bad({tag("<\xE2\x96\x81>")}, {"tags[0]", "U+2581"});
  bad({json{{"kind", "marker"}}}, {"tags[0]", "missing field \"name\""});
  bad({json{{"name", "<a>"}, {"kind", 3}}}, {"tags[0]", "wrong type"});
  bad({}, {"no tags"});
  expect_error([&] { Tagset::from_json(json{{"name", "x"}}, "x.json"); }, {"x.json", "tags"});
  expect_error([&] { Tagset::load(dir + "/missing.json"); }, {"missing.json"});
}

}  // namespace
}  // namespace prealign
