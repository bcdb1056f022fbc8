// filter (PHF "filtering"): MLE on the documents whose mean segment score is at
// or under a threshold; the others are dropped at batch time. The threshold is
// absolute ("0.002361", PHF's pep8 value on its own document score) or a
// percentile of the training documents' mean scores ("p90" drops the worst 10%).
#include <cmath>

#include "core/error.hpp"
#include "core/progress.hpp"
#include "train/objectives.hpp"

namespace prealign {
namespace {

class FilterObjective : public Objective {
 public:
  FilterObjective(const ObjectiveOptions& o, const Dataset& d) : Objective(o, d) {
    category_ = labeler_->category_index(0);
    ThresholdSpec spec = ThresholdSpec::parse(o.filter_threshold, "--filter-threshold");
    std::vector<float> means;
    for (const auto& shard : d.train)
      for (uint64_t doc = 0; doc < shard->n_docs(); ++doc) means.push_back(mean_score(*shard, doc));
    threshold_ = spec.percentile ? quantile(means, spec.value / 100.0) : spec.value;
    size_t kept = 0;
    for (float m : means) kept += m <= threshold_;
    kept_fraction_ = means.empty() ? 1.0 : double(kept) / double(means.size());
    if (kept == 0)
      fail("--filter-threshold " + o.filter_threshold, "every training document has a mean score over " +
           std::to_string(threshold_), "raise the threshold (e.g. p90)");
    note("filter: keeping documents with mean score <= " + std::to_string(threshold_) + " (" +
         std::to_string(kept) + " of " + std::to_string(means.size()) + " training documents)");
  }
  std::string name() const override { return "filter"; }
  void plan(const DocumentView& doc, DocumentPlan& plan) const override {
    plan_scores(doc, plan, false);
    plan.keep = mean_score(*doc.shard, doc.doc) <= threshold_;
  }
  LossResult loss(const ForwardOutput& out, const BatchTensors& b) override {
    LossResult r;
    r.loss = token_cross_entropy(out.logits, b.targets).mean();
    return r;
  }
  ordered_json describe() const override {
    ordered_json j = Objective::describe();
    j["document_threshold"] = threshold_;
    j["kept_documents_fraction"] = kept_fraction_;
    return j;
  }

 private:
  // Unweighted mean of the document's segment scores in the objective's category.
  float mean_score(const Shard& shard, uint64_t doc) const {
    const uint64_t b = shard.doc_segment_begin(doc), e = shard.doc_segment_end(doc);
    if (b == e) return 0.f;
    double sum = 0;
    for (uint64_t s = b; s < e; ++s) sum += shard.segment_scores(s)[category_];
    return static_cast<float>(sum / double(e - b));
  }
  size_t category_ = 0;
  double threshold_ = 0, kept_fraction_ = 1;
};

}  // namespace

std::unique_ptr<Objective> make_filter_objective(const ObjectiveOptions& o, const Dataset& data) {
  return std::make_unique<FilterObjective>(o, data);
}

}  // namespace prealign
