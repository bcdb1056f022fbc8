// ValueBand tags (seed 004): the shipped IQ band set, which band holds a value
// (edges included where they belong), and every validation error.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>

#include "core/error.hpp"
#include "test_util.hpp"
#include "tokenizer/band_tags.hpp"

namespace prealign {
namespace {

json band_tag(const std::string& name, double low, double high, const std::string& category = "edu") {
  return {{"name", name}, {"category", category}, {"kind", "marker"}, {"attributes", {{"band", {low, high}}}}};
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(BandTags, ShippedIqBandsHoldEachValueOnce) {
  const Tagset tags = Tagset::load(testing::source_path("configs/tagsets/iq_bands.json"));
  const BandSet set = BandSet::from_tagset(tags, "iq", "iq_bands.json");
  ASSERT_EQ(set.bands().size(), 7u);
  EXPECT_DOUBLE_EQ(set.low(), 55);
  EXPECT_DOUBLE_EQ(set.high(), 160);
  // Independently: band k holds [55 + 15k, 70 + 15k); 160 is in the last band.
  for (double v = 55; v <= 160; v += 0.25) {
    const int k = std::min(6, static_cast<int>(std::floor((v - 55) / 15)));
    const std::string want = "<iq_" + std::to_string(55 + 15 * k) + "_" + std::to_string(70 + 15 * k) + ">";
    const ValueBand* b = set.find(v);
    ASSERT_NE(b, nullptr) << v;
    EXPECT_EQ(b->tag, want) << v;
  }
  EXPECT_EQ(set.find(70)->tag, "<iq_70_85>") << "a shared edge belongs to the upper band";
  EXPECT_EQ(set.find(54.99), nullptr);
  EXPECT_EQ(set.find(160.01), nullptr);
  EXPECT_EQ(set.find(std::numeric_limits<double>::quiet_NaN()), nullptr);
  EXPECT_EQ(set.find(std::numeric_limits<double>::infinity()), nullptr);
}

TEST(BandTags, OrderOfDeclarationDoesNotMatter) {
  const Tagset t = Tagset::from_json(
      {{"name", "edu"}, {"tags", {band_tag("<edu_hi>", 12, 20), band_tag("<edu_lo>", 0, 6), band_tag("<edu_mid>", 6, 12)}}},
      "edu.json");
  const BandSet set = BandSet::from_tagset(t, "edu", "edu.json");
  EXPECT_EQ(set.bands().front().tag, "<edu_lo>");
  EXPECT_EQ(set.find(6)->tag, "<edu_mid>");
  EXPECT_EQ(BandSet::all_in(t, "edu.json").size(), 1u);
}

TEST(BandTags, GapsOverlapsAndMalformedBandsAreRefusedWhenTheTagsetIsRead) {
  auto load = [](json tags) { return [tags] { Tagset::from_json({{"name", "edu"}, {"tags", tags}}, "edu.json"); }; };
  std::string e = error_of(load({band_tag("<a_>", 0, 6), band_tag("<b_>", 7, 12)}));
  EXPECT_NE(e.find("edu.json"), std::string::npos) << e;
  EXPECT_NE(e.find("gap"), std::string::npos) << e;
  e = error_of(load({band_tag("<a_>", 0, 6), band_tag("<b_>", 5, 12)}));
  EXPECT_NE(e.find("overlap"), std::string::npos) << e;
  EXPECT_NE(e.find("<a_>"), std::string::npos) << e;
  e = error_of(load({band_tag("<a_>", 6, 6)}));
  EXPECT_NE(e.find("empty"), std::string::npos) << e;
  json no_band = band_tag("<b_>", 6, 12);
  no_band["attributes"] = json::object();
  e = error_of(load({band_tag("<a_>", 0, 6), no_band}));
  EXPECT_NE(e.find("no \"band\""), std::string::npos) << e;
  json text_band = band_tag("<a_>", 0, 6);
  text_band["attributes"]["band"] = {"low", "high"};
  e = error_of(load({text_band}));
  EXPECT_NE(e.find("two numbers"), std::string::npos) << e;
  // A category without any band attribute is not a band set.
  const Tagset plain = Tagset::load(testing::source_path("configs/tagsets/good_bad.json"));
  EXPECT_TRUE(BandSet::all_in(plain, "good_bad.json").empty());
  e = error_of([&] { BandSet::from_tagset(plain, "edu", "x"); });
  EXPECT_NE(e.find("no band tags"), std::string::npos) << e;
}

}  // namespace
}  // namespace prealign
