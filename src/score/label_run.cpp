#include "score/label_run.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>

#include "core/lines.hpp"
#include "corpus/reader.hpp"

namespace prealign {

namespace {

// Reads every scored document, checks that all share the categories of the
// first, and hands each good one to `fn` with the key of its first segment.
class ScoredCorpus {
 public:
  ScoredCorpus(const std::vector<std::string>& inputs, const LabelRunOptions& o) : inputs_(inputs), o_(o) {}

  template <class F>
  void read(LabelReport& report, F&& fn) {
    CorpusReadOptions ro;
    ro.format = "jsonl";
    ro.skip_bad = o_.skip_bad;
    ro.text_field = o_.text_field;
    ro.id_field = o_.id_field;
    uint64_t key = 0, skipped = 0;
    std::vector<std::string> errors;
    CorpusReadStats st = read_corpus(inputs_, ro, [&](Document&& d) {
      std::string why;
      if (d.segments.empty())
        why = "document has no scored segments";
      else if (!categories_)
        categories_ = d.categories;
      else if (d.categories != *categories_)
        why = "document is scored in " + join(d.categories) + ", the first document in " + join(*categories_);
      if (!why.empty()) {
        if (!o_.skip_bad)
          fail(d.where, why, "score every document with the same config (prealign score), or pass --skip-bad");
        ++skipped;
        if (errors.size() < 20) errors.push_back(Error(d.where, why).what());
        return;
      }
      fn(d, key);
      key += d.segments.size();
    });
    report.skipped = st.skipped + skipped;
    report.first_errors = st.first_errors;
    for (auto& e : errors)
      if (report.first_errors.size() < 20) report.first_errors.push_back(std::move(e));
    if (!categories_)
      fail(inputs_.empty() ? "label" : inputs_[0], "no scored documents in the input",
           "label reads the scored JSONL written by prealign score");
  }

  const std::vector<std::string>& categories() const { return *categories_; }

  static std::string join(const std::vector<std::string>& v) {
    std::string s = "{";
    for (const auto& c : v) s += (s.size() > 1 ? ", " : "") + c;
    return s + "}";
  }

 private:
  std::vector<std::string> inputs_;
  const LabelRunOptions& o_;
  std::optional<std::vector<std::string>> categories_;
};

ScoreHistogram histogram(const std::string& category, std::vector<float> values) {
  ScoreHistogram h;
  h.category = category;
  h.segments = values.size();
  double sum = 0;
  for (float x : values) {
    sum += x;
    h.max = std::max<double>(h.max, x);
    if (x <= 0)
      ++h.zeros;
    else
      ++h.decades[static_cast<int>(std::floor(std::log10(static_cast<double>(x))))];
  }
  h.mean = values.empty() ? 0.0 : sum / double(values.size());
  for (double q : {50.0, 90.0, 95.0, 99.0, 99.9}) h.quantiles.push_back({q, quantile(values, q / 100.0)});
  return h;
}

json labeled_record(const Document& d, const Labeler& labeler, uint64_t key) {
  json j = document_to_json(d);
  j["context_tags"] = labeler.context_tags(d.meta);
  for (size_t s = 0; s < d.segments.size(); ++s) {
    SegmentLabel l = labeler.label(d.segments[s].scores.data(), key + s);
    json& seg = j["segments"][s];
    seg["bad"] = l.bad;
    if (l.dropped) seg["dropped"] = true;
    seg["tags"] = l.tags;
  }
  return j;
}

}  // namespace

LabelReport run_label(const std::vector<std::string>& inputs, const LabelingConfig& config, const LabelRunOptions& o) {
  LabelReport report;
  ScoredCorpus corpus(inputs, o);
  std::optional<Labeler> labeler;
  std::vector<float> scores;  // (segments, categories), in corpus order
  corpus.read(report, [&](const Document& d, uint64_t) {
    if (!labeler) labeler.emplace(config, d.categories, "label");
    ++report.documents;
    report.segments += d.segments.size();
    for (const Segment& s : d.segments) scores.insert(scores.end(), s.scores.begin(), s.scores.end());
    for (const std::string& t : labeler->context_tags(d.meta)) ++report.context_documents[t];
  });
  report.categories = corpus.categories();
  const size_t C = report.categories.size();
  labeler->fit([&](const std::function<void(const float*)>& visit) {
    for (size_t g = 0; g < report.segments; ++g) visit(&scores[g * C]);
  });
  for (size_t g = 0; g < report.segments; ++g) {
    SegmentLabel l = labeler->label(&scores[g * C], g);
    report.bad_segments += l.bad;
    report.dropped_segments += l.dropped;
    for (const std::string& t : l.tags) ++report.tag_segments[t];
  }
  for (size_t r = 0; r < config.rules.size(); ++r) {
    std::vector<float> v(report.segments);
    for (size_t g = 0; g < report.segments; ++g) v[g] = scores[g * C + labeler->category_index(r)];
    report.histograms.push_back(histogram(config.rules[r].category, std::move(v)));
  }
  report.labeling = labeler->describe();
  if (!o.save_config.empty()) write_json_file(o.save_config, report.labeling);
  if (!o.out.empty()) {
    LabelReport second;  // the same records again; only the writing matters now
    JsonlWriter out(o.out);
    corpus.read(second, [&](const Document& d, uint64_t key) { out.write(labeled_record(d, *labeler, key)); });
    out.commit();
  }
  return report;
}

ordered_json LabelReport::to_json() const {
  ordered_json j;
  j["documents"] = documents;
  j["segments"] = segments;
  j["bad_segments"] = bad_segments;
  j["dropped_segments"] = dropped_segments;
  j["skipped"] = skipped;
  j["categories"] = categories;
  j["labeling"] = labeling;
  j["histograms"] = ordered_json::array();
  for (const ScoreHistogram& h : histograms) {
    ordered_json d = ordered_json::object();
    for (const auto& [e, n] : h.decades) d["1e" + std::to_string(e)] = n;
    ordered_json q = ordered_json::object();
    for (const auto& [p, v] : h.quantiles) {
      char name[16];
      std::snprintf(name, sizeof name, "p%g", p);
      q[name] = v;
    }
    j["histograms"].push_back({{"category", h.category},
                               {"segments", h.segments},
                               {"zeros", h.zeros},
                               {"mean", h.mean},
                               {"max", h.max},
                               {"decades", d},
                               {"quantiles", q}});
  }
  j["tag_segments"] = tag_segments;
  j["context_documents"] = context_documents;
  j["first_errors"] = first_errors;
  return j;
}

std::string format_label_report(const LabelReport& r) {
  std::string out;
  char line[256];
  auto pct = [](uint64_t n, uint64_t of) { return of ? 100.0 * double(n) / double(of) : 0.0; };
  std::snprintf(line, sizeof line,
                "documents %llu | segments %llu | bad %llu (%.2f%%) | untagged %llu (%.2f%%) | skipped %llu\n",
                (unsigned long long)r.documents, (unsigned long long)r.segments, (unsigned long long)r.bad_segments,
                pct(r.bad_segments, r.segments), (unsigned long long)r.dropped_segments,
                pct(r.dropped_segments, r.segments), (unsigned long long)r.skipped);
  out += line;
  for (size_t i = 0; i < r.histograms.size(); ++i) {
    const ScoreHistogram& h = r.histograms[i];
    const double th = r.labeling["rules"][i]["resolved_threshold"].get<double>();
    std::snprintf(line, sizeof line, "\n%s: threshold %s = %.6g | mean %.4g | max %.4g\n", h.category.c_str(),
                  r.labeling["rules"][i]["threshold"].get<std::string>().c_str(), th, h.mean, h.max);
    out += line;
    for (const auto& [q, v] : h.quantiles) {
      std::snprintf(line, sizeof line, "  p%-5g %.6g\n", q, v);
      out += line;
    }
    const uint64_t widest = std::max<uint64_t>(1, std::max(h.zeros, [&] {
                                                 uint64_t m = 0;
                                                 for (const auto& [e, n] : h.decades) m = std::max(m, n);
                                                 return m;
                                               }()));
    auto bar = [&](const char* label, uint64_t n) {
      std::snprintf(line, sizeof line, "  %-16s %10llu %6.2f%% %s\n", label, (unsigned long long)n, pct(n, h.segments),
                    std::string(static_cast<size_t>(40.0 * double(n) / double(widest)), '#').c_str());
      out += line;
    };
    bar("0", h.zeros);
    for (const auto& [e, n] : h.decades) {
      char label[40];
      std::snprintf(label, sizeof label, "[1e%d, 1e%d)", e, e + 1);
      bar(label, n);
    }
  }
  out += "\ntags (segments):\n";
  for (const auto& [t, n] : r.tag_segments) {
    std::snprintf(line, sizeof line, "  %-20s %12llu %6.2f%%\n", t.c_str(), (unsigned long long)n, pct(n, r.segments));
    out += line;
  }
  if (!r.context_documents.empty()) out += "context tags (documents):\n";
  for (const auto& [t, n] : r.context_documents) {
    std::snprintf(line, sizeof line, "  %-20s %12llu %6.2f%%\n", t.c_str(), (unsigned long long)n, pct(n, r.documents));
    out += line;
  }
  return out;
}

LabelRule parse_rule_spec(const std::string& spec) {
  std::vector<std::string> parts;
  size_t b = 0;
  for (size_t i = 0; i <= spec.size(); ++i)
    if (i == spec.size() || spec[i] == ':') {
      parts.push_back(spec.substr(b, i - b));
      b = i + 1;
    }
  const std::string where = "--rule " + spec;
  if ((parts.size() != 2 && parts.size() != 4) || parts[0].empty())
    fail(where, "expected category:threshold or category:threshold:good_tag:bad_tag",
         "e.g. --rule pii:0 or --rule pep8:p90 or --rule pii:0:<|pii_ok|>:<|pii|>");
  LabelRule r;
  r.category = parts[0];
  r.threshold = ThresholdSpec::parse(parts[1], where);
  if (parts.size() == 4) {
    if (parts[2].empty() || parts[3].empty()) fail(where, "empty tag name");
    r.good_tag = parts[2];
    r.bad_tag = parts[3];
  }
  return r;
}

ContextRule parse_context_spec(const std::string& spec) {
  const size_t eq = spec.find('='), colon = spec.rfind(':');
  if (eq == std::string::npos || colon == std::string::npos || colon < eq || eq == 0 || colon + 1 == spec.size())
    fail("--context " + spec, "expected field=value:tag", "e.g. --context genre=fiction:<fiction>");
  return {spec.substr(0, eq), spec.substr(eq + 1, colon - eq - 1), spec.substr(colon + 1)};
}

}  // namespace prealign
