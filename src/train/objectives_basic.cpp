// mle: plain next-token cross-entropy (the baseline).
// conditional (PHF): each segment is prefixed by <|good|> or <|bad|> by its score,
// drop_fraction of segments get no tag; the model learns to predict the tags too,
// so at inference a policy can condition on <|good|> and ban <|bad|>.
#include "core/error.hpp"
#include "train/objectives.hpp"

namespace prealign {
namespace {

class MleObjective : public Objective {
 public:
  MleObjective(const ObjectiveOptions& o, const Dataset& d) : Objective(o, d) {}
  std::string name() const override { return "mle"; }
  LossResult loss(const ForwardOutput& out, const BatchTensors& b) override {
    LossResult r;
    r.loss = token_cross_entropy(out.logits, b.targets).mean();
    return r;
  }
};

class ConditionalObjective : public Objective {
 public:
  ConditionalObjective(const ObjectiveOptions& o, const Dataset& d, const Tokenizer& tok) : Objective(o, d) {
    resolve_tags(tok);
  }
  std::string name() const override { return "conditional"; }
  void plan(const DocumentView& doc, DocumentPlan& plan) const override { plan_scores(doc, plan, true); }
  LossResult loss(const ForwardOutput& out, const BatchTensors& b) override {
    LossResult r;
    auto ce = token_cross_entropy(out.logits, b.targets);  // (B, T), tags included: the model learns to tag
    r.loss = ce.mean();
    auto text = b.is_tag.logical_not();
    r.metrics["text_ce"] = (ce * text).sum().item<double>() / std::max<double>(1.0, text.sum().item<double>());
    return r;
  }
  std::vector<int> tags_used() const override { return tag_ids_; }
};

}  // namespace

std::unique_ptr<Objective> make_mle_objective(const ObjectiveOptions& o, const Dataset& data) {
  return std::make_unique<MleObjective>(o, data);
}

std::unique_ptr<Objective> make_conditional_objective(const ObjectiveOptions& o, const Dataset& data,
                                                      const Tokenizer& tokenizer) {
  return std::make_unique<ConditionalObjective>(o, data, tokenizer);
}

}  // namespace prealign
