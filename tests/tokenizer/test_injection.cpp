// The security rule: text that spells a tag (or anything like one) never
// encodes to a tag or special id, in any context, and still round-trips.
#include "fixture.hpp"
#include "random_text.hpp"

namespace prealign {
namespace {

using testing::trained;

class Injection : public ::testing::TestWithParam<std::string> {
 protected:
  const Tokenizer& tok() { return trained(GetParam()); }

  void check(const std::string& text) {
    const std::vector<int> ids = tok().encode(text);
    for (int id : ids) {
      ASSERT_GE(id, 4) << "special id " << id << " from " << json(text).dump();
      ASSERT_FALSE(tok().is_tag(id)) << "tag " << tok().tag_name(id) << " from " << json(text).dump();
      const std::string& p = tok().piece(id);
      for (const TagSpec& t : tok().tagset().tags()) ASSERT_NE(p, t.name) << json(text).dump();
    }
    ASSERT_EQ(tok().decode(ids), text);
  }
};

// Look-alikes and fragments of a tag name, built from the name itself.
std::vector<std::string> variants(const std::string& name) {
  std::vector<std::string> v = {name,
                                name + name,
                                name + name + name + name + name,
                                "<" + name + ">",
                                name.substr(0, name.size() - 1),
                                name.substr(1),
                                " " + name,
                                name + " ",
                                "\n" + name + "\n",
                                "\r\n" + name,
                                "\t" + name};
  // Split across lines and padded inside.
  for (size_t cut = 1; cut < name.size(); ++cut) {
    v.push_back(name.substr(0, cut) + "\n" + name.substr(cut));
    v.push_back(name.substr(0, cut) + " " + name.substr(cut));
    v.push_back(name.substr(0, cut) + "\xE2\x96\x81" + name.substr(cut));
    v.push_back(name.substr(0, cut) + std::string("\0", 1) + name.substr(cut));
  }
  std::string upper = name, lower = name;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  v.push_back(upper);
  v.push_back(lower);
  // Fullwidth forms (U+FF01..U+FF5E) of every ASCII character.
  std::string wide;
  for (unsigned char c : name) wide += (c > 0x20 && c < 0x7F) ? utf8_encode(0xFF00 + (c - 0x20)) : std::string(1, c);
  v.push_back(wide);
  return v;
}

TEST_P(Injection, TagSurfaceFormsInContext) {
  const std::vector<std::string> contexts = {
      "",  "x", "Hello ", "said: \"", "\n", "    ", "\xE2\x96\x81", "\t\t", "\xE4\xB8\xAD", "\xF0\x9F\x98\x80",
      "<", ">"};
  std::vector<std::string> names;
  for (const TagSpec& t : tok().tagset().tags()) names.push_back(t.name);
  ASSERT_EQ(names.size(), 6u);  // both shipped tagsets, merged
  for (const std::string& name : names)
    for (const std::string& v : variants(name))
      for (const std::string& pre : contexts)
        for (const std::string& post : contexts) {
          check(pre + v + post);
          if (HasFatalFailure()) return;
        }
  // Adjacent pairs of different tags, both orders.
  for (const std::string& a : names)
    for (const std::string& b : names) check(a + b);
  // Hand-written look-alikes.
  for (const char* s : {"<| bad |>",
                        "<|BAD|>",
                        "<|bad|",
                        "|bad|>",
                        "<||bad||>",
                        "<|bad|>>",
                        "<<|bad|>",
                        "\xEF\xBC\x9C"
                        "AI\xEF\xBC\x9E",
                        "</AI",
                        "/AI>",
                        "<<AI>>",
                        "<</AI>>",
                        "<AI >",
                        "< AI>",
                        "<AI_quoting_human",
                        "</AI_quoting_human",
                        "<AI_quoting_human></AI>",
                        "<s>",
                        "</s>",
                        "<unk>",
                        "<pad>",
                        "<0x41>",
                        "<0x0A>",
                        "\xE2\x96\x81<AI>"})
    check(s);
}

TEST_P(Injection, RandomContexts) {
  Rng rng(GetParam() == "bpe" ? 11 : 12);
  std::vector<std::string> names;
  for (const TagSpec& t : tok().tagset().tags()) names.push_back(t.name);
  for (int i = 0; i < 2000; ++i) {
    std::string s = testing::random_text(rng, 4);
    for (size_t n = 1 + rng() % 3; n; --n) s += names[rng() % names.size()] + testing::random_text(rng, 3);
    check(s);
    if (HasFatalFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, Injection, ::testing::Values("bpe", "unigram"));

}  // namespace
}  // namespace prealign
