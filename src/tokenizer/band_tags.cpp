#include "tokenizer/band_tags.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.hpp"

namespace prealign {

namespace {

std::string number(double x) {
  std::string s = std::to_string(x);
  s.erase(s.find_last_not_of('0') + 1);
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

BandSet BandSet::from_tagset(const Tagset& tagset, const std::string& category, const std::string& where) {
  BandSet set;
  set.category_ = category;
  for (const TagSpec& t : tagset.tags()) {
    if (t.category != category) continue;
    const std::string w = where + ": tag " + t.name;
    if (!t.attributes.contains("band"))
      fail(w, "category \"" + category + "\" is a band set, but this tag has no \"band\" attribute",
           "give every tag of a band category \"attributes\": {\"band\": [low, high]}");
    const json& b = t.attributes.at("band");
    if (!b.is_array() || b.size() != 2 || !b[0].is_number() || !b[1].is_number())
      fail(w, "\"band\" must be [low, high], two numbers", "e.g. \"band\": [130, 145]");
    if (t.kind != TagKind::Marker) fail(w, "a band tag must be a marker (it is " + to_string(t.kind) + ")");
    ValueBand band{t.name, b[0].get<double>(), b[1].get<double>()};
    if (!std::isfinite(band.low) || !std::isfinite(band.high) || !(band.low < band.high))
      fail(w, "band [" + number(band.low) + ", " + number(band.high) + "] is empty or not finite", "low < high");
    set.bands_.push_back(band);
  }
  if (set.bands_.empty()) fail(where, "no band tags of category \"" + category + "\" in tagset " + tagset.name());
  std::sort(set.bands_.begin(), set.bands_.end(), [](const ValueBand& a, const ValueBand& b) { return a.low < b.low; });
  for (size_t i = 1; i < set.bands_.size(); ++i) {
    const ValueBand &a = set.bands_[i - 1], &b = set.bands_[i];
    const std::string edges = a.tag + " [" + number(a.low) + ", " + number(a.high) + ") and " + b.tag + " [" +
                              number(b.low) + ", " + number(b.high) + ")";
    if (b.low < a.high) fail(where + ": band set " + category, edges + " overlap", "each value must have one band");
    if (b.low > a.high)
      fail(where + ": band set " + category, edges + " leave a gap", "make each band start where the one below ends");
  }
  return set;
}

std::vector<BandSet> BandSet::all_in(const Tagset& tagset, const std::string& where) {
  std::set<std::string> categories;
  for (const TagSpec& t : tagset.tags())
    if (t.attributes.contains("band")) categories.insert(t.category);
  std::vector<BandSet> out;
  for (const std::string& c : categories) out.push_back(from_tagset(tagset, c, where));
  return out;
}

const ValueBand* BandSet::find(double value) const {
  if (!std::isfinite(value) || value < low() || value > high()) return nullptr;
  for (const ValueBand& b : bands_)
    if (value < b.high) return &b;
  return &bands_.back();  // value == high(): the last band holds its upper edge
}

}  // namespace prealign
