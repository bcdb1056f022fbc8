#include "score/labeling.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/rng.hpp"

namespace prealign {

ThresholdSpec ThresholdSpec::parse(const std::string& text, const std::string& where) {
  ThresholdSpec t;
  std::string s = text;
  if (!s.empty() && (s[0] == 'p' || s[0] == 'P')) {
    t.percentile = true;
    s = s.substr(1);
  } else if (!s.empty() && s.back() == '%') {
    t.percentile = true;
    s.pop_back();
  }
  char* end = nullptr;
  t.value = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(t.value))
    fail(where, "threshold \"" + text + "\" is neither a number nor a percentile",
         "write an absolute score such as 0.002, or a corpus percentile such as p95");
  if (t.percentile && (t.value < 0 || t.value > 100))
    fail(where, "percentile threshold \"" + text + "\" is outside 0..100");
  return t;
}

std::string ThresholdSpec::to_string() const {
  char buf[64];
  std::snprintf(buf, sizeof buf, percentile ? "p%g" : "%g", value);
  return buf;
}

LabelingConfig LabelingConfig::from_json(const json& j, const std::string& where) {
  LabelingConfig c;
  if (!j.is_object()) fail(where, "labeling config must be a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.key() != "rules" && it.key() != "drop_fraction" && it.key() != "seed" && it.key() != "context" &&
        it.key() != "bands")
      fail(where, "unknown labeling key \"" + it.key() + "\"", "known keys: rules, context, bands, drop_fraction, seed");
  c.drop_fraction = json_optional<double>(j, "drop_fraction", 0.0, where);
  c.seed = json_optional<uint64_t>(j, "seed", 0, where);
  const json& rules = j.contains("rules") ? j.at("rules") : json::array();
  if (!rules.is_array()) fail(where, "\"rules\" must be an array");
  for (size_t i = 0; i < rules.size(); ++i) {
    std::string w = where + ": rules[" + std::to_string(i) + "]";
    LabelRule r;
    r.category = json_required<std::string>(rules[i], "category", w);
    const json& th = rules[i].contains("threshold") ? rules[i].at("threshold") : json(0.0);
    r.threshold = ThresholdSpec::parse(th.is_string() ? th.get<std::string>() : th.dump(), w);
    r.good_tag = json_optional<std::string>(rules[i], "good_tag", r.good_tag, w);
    r.bad_tag = json_optional<std::string>(rules[i], "bad_tag", r.bad_tag, w);
    c.rules.push_back(r);
  }
  const json& context = j.contains("context") ? j.at("context") : json::array();
  if (!context.is_array()) fail(where, "\"context\" must be an array of {field, value, tag}");
  for (size_t i = 0; i < context.size(); ++i) {
    std::string w = where + ": context[" + std::to_string(i) + "]";
    ContextRule r{json_required<std::string>(context[i], "field", w),
                  json_required<std::string>(context[i], "value", w), json_required<std::string>(context[i], "tag", w)};
    if (r.field.empty() || r.tag.empty()) fail(w, "field and tag must not be empty");
    c.context.push_back(r);
  }
  const json& bands = j.contains("bands") ? j.at("bands") : json::array();
  if (!bands.is_array()) fail(where, "\"bands\" must be an array of {field, tagset, category}");
  for (size_t i = 0; i < bands.size(); ++i) {
    std::string w = where + ": bands[" + std::to_string(i) + "]";
    BandRule r{json_required<std::string>(bands[i], "field", w), json_required<std::string>(bands[i], "tagset", w),
               json_required<std::string>(bands[i], "category", w), BandSet()};
    if (r.field.empty()) fail(w, "field must not be empty");
    // The tagset file as given, else beside the config file.
    std::string path = r.tagset;
    const std::string beside = std::filesystem::path(where).parent_path().string() + "/" + path;
    if (!file_exists(path) && !path.empty() && path[0] != '/' && file_exists(beside)) path = beside;
    r.set = BandSet::from_tagset(Tagset::load(path), r.category, w);
    c.bands.push_back(r);
  }
  if (c.drop_fraction < 0 || c.drop_fraction > 1) fail(where, "drop_fraction must be within [0, 1]");
  return c;
}

ordered_json LabelingConfig::to_json() const {
  ordered_json j;
  j["rules"] = ordered_json::array();
  for (const auto& r : rules)
    j["rules"].push_back({{"category", r.category},
                          {"threshold", r.threshold.to_string()},
                          {"good_tag", r.good_tag},
                          {"bad_tag", r.bad_tag}});
  j["context"] = ordered_json::array();
  for (const auto& r : context) j["context"].push_back({{"field", r.field}, {"value", r.value}, {"tag", r.tag}});
  if (!bands.empty()) {
    j["bands"] = ordered_json::array();
    for (const auto& r : bands) j["bands"].push_back({{"field", r.field}, {"tagset", r.tagset}, {"category", r.category}});
  }
  j["drop_fraction"] = drop_fraction;
  j["seed"] = seed;
  return j;
}

Labeler::Labeler(LabelingConfig config, std::vector<std::string> categories, const std::string& where)
    : config_(std::move(config)), categories_(std::move(categories)) {
  // Metadata alone is a labeling too (MeCo: a document's tags from its fields, no segment tag).
  if (config_.rules.empty() && config_.context.empty() && config_.bands.empty())
    fail(where, "labeling needs at least one rule, context tag or band");
  for (const auto& r : config_.rules) {
    auto it = std::find(categories_.begin(), categories_.end(), r.category);
    if (it == categories_.end()) {
      std::string known;
      for (const auto& c : categories_) known += (known.empty() ? "" : ", ") + c;
      fail(where, "score category \"" + r.category + "\" is not in the corpus",
           categories_.empty() ? "the corpus has no scores: score it first (prealign score)"
                               : "the corpus has: " + known);
    }
    category_index_.push_back(static_cast<size_t>(it - categories_.begin()));
    resolved_.push_back(r.threshold.percentile ? NAN : r.threshold.value);
  }
}

bool Labeler::needs_fit() const {
  for (const auto& r : config_.rules)
    if (r.threshold.percentile) return true;
  return false;
}

double quantile(std::vector<float>& v, double q) {
  if (v.empty()) return 0.0;
  double pos = q * static_cast<double>(v.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(lo), v.end());
  double a = v[lo];
  if (lo + 1 >= v.size()) return a;
  double b = *std::min_element(v.begin() + static_cast<long>(lo) + 1, v.end());
  return a + (b - a) * (pos - static_cast<double>(lo));
}

void Labeler::fit(const std::function<void(const std::function<void(const float*)>&)>& for_each_segment,
                  size_t max_samples) {
  if (!needs_fit()) return;
  // Reservoir-free deterministic thinning: count first, then keep every k-th.
  size_t total = 0;
  for_each_segment([&](const float*) { ++total; });
  size_t stride = std::max<size_t>(1, (total + max_samples - 1) / std::max<size_t>(1, max_samples));
  std::vector<std::vector<float>> samples(config_.rules.size());
  size_t i = 0;
  for_each_segment([&](const float* scores) {
    if (i++ % stride != 0) return;
    for (size_t r = 0; r < config_.rules.size(); ++r)
      if (config_.rules[r].threshold.percentile) samples[r].push_back(scores[category_index_[r]]);
  });
  for (size_t r = 0; r < config_.rules.size(); ++r)
    if (config_.rules[r].threshold.percentile)
      resolved_[r] = quantile(samples[r], config_.rules[r].threshold.value / 100.0);
}

SegmentLabel Labeler::label(const float* scores, uint64_t segment_key) const {
  SegmentLabel out;
  out.score = category_index_.empty() ? 0.f : scores[category_index_[0]];  // metadata-only labeling: no score
  for (double t : resolved_)
    if (std::isnan(t)) fail("labeling", "percentile thresholds are not resolved yet", "call Labeler::fit first");
  for (size_t r = 0; r < config_.rules.size(); ++r)
    if (static_cast<double>(scores[category_index_[r]]) > resolved_[r]) out.bad = true;
  out.dropped = config_.drop_fraction > 0 && hash_unit(config_.seed, segment_key) < config_.drop_fraction;
  if (out.dropped) return out;
  auto add = [&](const std::string& tag) {
    if (std::find(out.tags.begin(), out.tags.end(), tag) == out.tags.end()) out.tags.push_back(tag);
  };
  for (size_t r = 0; r < config_.rules.size(); ++r) {
    bool bad_here = static_cast<double>(scores[category_index_[r]]) > resolved_[r];
    if (out.bad) {
      if (bad_here) add(config_.rules[r].bad_tag);
    } else {
      add(config_.rules[r].good_tag);
    }
  }
  return out;
}

std::vector<std::string> Labeler::context_tags(const json& meta) const {
  std::vector<std::string> out;
  auto matches = [](const json& v, const std::string& value) {
    if (v.is_string()) return v.get<std::string>() == value;
    if (v.is_boolean() || v.is_number()) return v.dump() == value;
    return false;
  };
  for (const ContextRule& r : config_.context) {
    if (!meta.is_object() || !meta.contains(r.field)) continue;
    const json& v = meta.at(r.field);
    bool hit = matches(v, r.value);
    if (v.is_array())
      for (const json& e : v) hit = hit || matches(e, r.value);
    if (hit && std::find(out.begin(), out.end(), r.tag) == out.end()) out.push_back(r.tag);
  }
  for (const BandRule& r : config_.bands) {
    if (!meta.is_object() || !meta.contains(r.field) || !meta.at(r.field).is_number()) continue;
    if (const ValueBand* b = r.set.find(meta.at(r.field).get<double>()))
      if (std::find(out.begin(), out.end(), b->tag) == out.end()) out.push_back(b->tag);
  }
  return out;
}

std::vector<std::string> Labeler::document_tag_names() const {
  std::vector<std::string> out;
  for (const ContextRule& r : config_.context) out.push_back(r.tag);
  for (const BandRule& r : config_.bands)
    for (const ValueBand& b : r.set.bands()) out.push_back(b.tag);
  return out;
}

ordered_json Labeler::describe() const {
  ordered_json j = config_.to_json();
  for (size_t r = 0; r < config_.rules.size(); ++r) j["rules"][r]["resolved_threshold"] = resolved_[r];
  return j;
}

}  // namespace prealign
