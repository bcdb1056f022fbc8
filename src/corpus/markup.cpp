#include "corpus/markup.hpp"

#include <algorithm>
#include <array>

namespace prealign {

std::vector<MarkupPiece> parse_markup(std::string_view text, const Tagset& tagset) {
  // Candidate tags indexed by their first byte, longest first, so that at each
  // position the longest declared name wins (a name may be a prefix of another).
  // Scanning is one table look-up per byte plus a compare per candidate at
  // positions whose byte starts some tag: linear for the handful of tags we have.
  std::array<std::vector<std::string_view>, 256> by_first{};
  for (const TagSpec& t : tagset.tags())
    if (!t.name.empty()) by_first[static_cast<unsigned char>(t.name[0])].push_back(t.name);
  for (auto& v : by_first)
    std::stable_sort(v.begin(), v.end(), [](std::string_view a, std::string_view b) { return a.size() > b.size(); });

  std::vector<MarkupPiece> out;
  size_t text_start = 0, i = 0;
  auto flush_text = [&](size_t end) {
    if (end > text_start) out.push_back({false, std::string(text.substr(text_start, end - text_start)), text_start});
  };
  while (i < text.size()) {
    const auto& candidates = by_first[static_cast<unsigned char>(text[i])];
    const std::string_view* hit = nullptr;
    for (const std::string_view& name : candidates)
      if (text.compare(i, name.size(), name) == 0) {
        hit = &name;
        break;
      }
    if (!hit) {
      ++i;
      continue;
    }
    flush_text(i);
    out.push_back({true, std::string(*hit), i});
    i += hit->size();
    text_start = i;
  }
  flush_text(text.size());
  return out;
}

}  // namespace prealign
