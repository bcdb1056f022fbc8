#include "train/cooldown.hpp"

#include <cmath>
#include <utility>

namespace prealign {

int64_t cooldown_start(int64_t steps, double fraction) {
  return steps - static_cast<int64_t>(std::llround(fraction * static_cast<double>(steps)));
}

void strip_inserted_tags(DocumentPlan& plan) {
  plan.prefix.clear();
  for (SegmentPlan& s : plan.segments) s.prefix.clear();
}

DocumentPlanner with_cooldown(DocumentPlanner base, const int64_t* step, int64_t start) {
  return [base = std::move(base), step, start](const DocumentView& d, DocumentPlan& p) {
    base(d, p);
    if (*step >= start) strip_inserted_tags(p);
  };
}

}  // namespace prealign
