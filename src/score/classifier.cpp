#include "score/classifier.hpp"

#include <cstdio>
#include <memory>
#include <optional>

#include "core/lines.hpp"
#include "core/rng.hpp"
#include "corpus/reader.hpp"
#include "score/labeling.hpp"

namespace prealign {

namespace {

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// The document's label from its label field; "" with `why` set when it has none.
std::string document_label(const Document& d, const ClassifierDataOptions& o, std::string& why) {
  if (!d.meta.contains(o.label_field)) {
    why = "missing label field \"" + o.label_field + "\"";
    return "";
  }
  const json& v = d.meta.at(o.label_field);
  if (v.is_boolean()) return v.get<bool>() ? o.bad_label : "good";
  if (v.is_number()) return v.get<double>() != 0 ? o.bad_label : "good";
  if (v.is_string() && !v.get<std::string>().empty() &&
      v.get<std::string>().find_first_of(" \t\r\n") == std::string::npos)
    return v.get<std::string>();
  why = "label field \"" + o.label_field + "\" must be a one-word string, true/false or 1/0 (is " + v.dump() + ")";
  return "";
}

class ExampleFile {
 public:
  explicit ExampleFile(const std::string& path) {
    if (!path.empty()) file_ = std::make_unique<AtomicFile>(path);
  }
  void add(const std::string& label, std::string_view text, std::map<std::string, uint64_t>& counts, uint64_t& total) {
    ++counts[label];
    ++total;
    if (file_) file_->write(fasttext_example(label, text));
  }
  void commit() {
    if (file_) file_->commit();
  }

 private:
  std::unique_ptr<AtomicFile> file_;
};

// Percentile thresholds over the segment scores need a first pass over the corpus.
double resolve_threshold(const std::vector<std::string>& inputs, const ClassifierDataOptions& o,
                         const CorpusReadOptions& ro, const ThresholdSpec& spec) {
  if (!spec.percentile) return spec.value;
  std::vector<float> values;
  read_corpus(inputs, ro, [&](Document&& d) {
    auto it = std::find(d.categories.begin(), d.categories.end(), o.from_scores);
    if (it == d.categories.end()) return;
    const size_t c = static_cast<size_t>(it - d.categories.begin());
    for (const Segment& s : d.segments) values.push_back(s.scores[c]);
  });
  return quantile(values, spec.value / 100.0);
}

}  // namespace

ExampleCounts write_examples(const std::vector<std::string>& inputs, const ClassifierDataOptions& o,
                             const std::string& train_path, const std::string& valid_path) {
  if (o.valid_fraction < 0 || o.valid_fraction >= 1) fail("--valid-fraction", "must be within [0, 1)");
  if (o.bad_label.empty() || o.bad_label.find_first_of(" \t\r\n") != std::string::npos)
    fail("--bad-label", "must be one word");
  CorpusReadOptions ro;
  ro.format = "jsonl";
  ro.skip_bad = o.skip_bad;
  ro.text_field = o.text_field;
  ro.id_field = o.id_field;
  ExampleCounts counts;
  ExampleFile train(train_path), valid(valid_path);
  std::optional<Labeler> labeler;
  const ThresholdSpec spec = ThresholdSpec::parse(o.threshold, "--threshold");
  const double threshold = o.from_scores.empty() ? 0.0 : resolve_threshold(inputs, o, ro, spec);
  uint64_t skipped = 0;
  CorpusReadStats st = read_corpus(inputs, ro, [&](Document&& d) {
    const bool held_out = hash_unit(o.split_seed, fnv1a(d.id)) < o.valid_fraction;
    ExampleFile& f = held_out ? valid : train;
    auto& labels = held_out ? counts.valid_labels : counts.train_labels;
    uint64_t& total = held_out ? counts.valid : counts.train;
    std::string why;
    if (o.from_scores.empty()) {
      std::string label = document_label(d, o, why);
      if (why.empty()) f.add(label, d.text, labels, total);
    } else if (std::find(d.categories.begin(), d.categories.end(), o.from_scores) == d.categories.end()) {
      why = "document is not scored in \"" + o.from_scores + "\"";
    } else {
      // The same Labeler as `label` and training decides bad vs good.
      LabelingConfig lc;
      LabelRule rule;
      rule.category = o.from_scores;
      rule.threshold = ThresholdSpec{false, threshold};
      lc.rules.push_back(rule);
      if (!labeler) labeler.emplace(lc, d.categories, "--from-scores");
      for (const Segment& s : d.segments) {
        std::string_view text = std::string_view(d.text).substr(s.begin, s.end - s.begin);
        if (fasttext_text(text).empty()) continue;  // nothing for the classifier to read
        f.add(labeler->label(s.scores.data(), 0).bad ? o.bad_label : "good", text, labels, total);
      }
    }
    if (!why.empty()) {
      if (!o.skip_bad) fail(d.where, why, "pass --skip-bad to skip such records");
      ++skipped;
    }
  });
  counts.skipped = st.skipped + skipped;
  if (counts.train == 0) fail(inputs.empty() ? "classifier" : inputs[0], "no training examples");
  train.commit();
  valid.commit();
  return counts;
}

Evaluation evaluate_classifier(const FastTextModel& model, const std::string& examples, const std::string& bad_label,
                               double threshold) {
  const int bad = model.label_id(bad_label);
  if (bad < 0) fail(model.path(), "the model has no label \"" + bad_label + "\"");
  Evaluation e;
  e.threshold = threshold;
  for (int i = 1; i <= 19; ++i) e.sweep.push_back({i / 20.0, BinaryCounts{}});
  LineReader in(examples);
  std::string line;
  const std::string prefix = "__label__";
  while (in.next(line)) {
    if (line.rfind(prefix, 0) != 0) fail(in.where(), "not a fastText example line");
    const size_t space = line.find(' ');
    const std::string label =
        line.substr(prefix.size(), space == std::string::npos ? std::string::npos : space - prefix.size());
    const std::string text = space == std::string::npos ? "" : line.substr(space + 1);
    const bool truth = label == bad_label;
    const double p = model.probability(text, bad);
    auto add = [&](BinaryCounts& c, double t) {
      const bool pred = p > t;
      (pred ? (truth ? c.tp : c.fp) : (truth ? c.fn : c.tn)) += 1;
    };
    add(e.at_threshold, threshold);
    for (auto& [t, c] : e.sweep) add(c, t);
  }
  return e;
}

ordered_json Evaluation::to_json() const {
  auto counts = [](const BinaryCounts& c) {
    return ordered_json{{"tp", c.tp},
                        {"fp", c.fp},
                        {"fn", c.fn},
                        {"tn", c.tn},
                        {"precision", c.precision()},
                        {"recall", c.recall()},
                        {"f1", c.f1()},
                        {"fraction_predicted_bad", c.total() ? double(c.tp + c.fp) / double(c.total()) : 0.0}};
  };
  ordered_json j = counts(at_threshold);
  j["threshold"] = threshold;
  j["examples"] = at_threshold.total();
  j["sweep"] = ordered_json::array();
  for (const auto& [t, c] : sweep) {
    ordered_json s = counts(c);
    s["threshold"] = t;
    j["sweep"].push_back(s);
  }
  return j;
}

std::string format_evaluation(const Evaluation& e) {
  std::string out;
  char line[256];
  const BinaryCounts& c = e.at_threshold;
  std::snprintf(line, sizeof line,
                "held-out examples %llu | threshold %.2f | precision %.4f | recall %.4f | F1 %.4f "
                "(tp %llu fp %llu fn %llu tn %llu)\n",
                (unsigned long long)c.total(), e.threshold, c.precision(), c.recall(), c.f1(), (unsigned long long)c.tp,
                (unsigned long long)c.fp, (unsigned long long)c.fn, (unsigned long long)c.tn);
  out += line;
  out += "threshold  precision  recall  F1      predicted bad (what a cascade gate would forward)\n";
  for (const auto& [t, s] : e.sweep) {
    std::snprintf(line, sizeof line, "%9.2f  %9.4f  %6.4f  %6.4f  %6.2f%%\n", t, s.precision(), s.recall(), s.f1(),
                  s.total() ? 100.0 * double(s.tp + s.fp) / double(s.total()) : 0.0);
    out += line;
  }
  return out;
}

}  // namespace prealign
