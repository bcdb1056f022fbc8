// The `fasttext` scorer: each segment's score is a fastText classifier's
// probability of the bad label for the segment's text (fasttext_text()).
#include <algorithm>

#include "score/fasttext_model.hpp"
#include "score/scorers.hpp"

namespace prealign {

namespace {

class FastTextScorer : public Scorer {
 public:
  FastTextScorer(std::string name, std::shared_ptr<const FastTextModel> model, int label)
      : name_(std::move(name)), model_(std::move(model)), label_(label) {}

  std::string name() const override { return name_; }
  std::vector<std::string> categories() const override { return {name_}; }

  ScoreResult score(std::string_view text, const std::vector<Span>& segments) override {
    if (!spans_valid(segments, text.size())) throw ScoreError("segments do not fit the document");
    ScoreResult r;
    r.scores.reserve(segments.size());
    for (const Span& s : segments) {
      const double p = model_->probability(fasttext_text(text.substr(s.begin, s.end - s.begin)), label_);
      r.scores.push_back({static_cast<float>(p)});
    }
    return r;
  }

  // The model is immutable and predict() keeps its state on the stack: clones share it.
  std::unique_ptr<Scorer> clone() const override { return std::make_unique<FastTextScorer>(*this); }

 private:
  std::string name_;
  std::shared_ptr<const FastTextModel> model_;
  int label_;
};

}  // namespace

std::unique_ptr<Scorer> make_fasttext_scorer(const json& config, const std::string& where) {
  if (!config.is_object()) fail(where, "a scorer config must be a JSON object");
  for (auto it = config.begin(); it != config.end(); ++it)
    if (it.key() != "type" && it.key() != "name" && it.key() != "model" && it.key() != "label")
      fail(where, "unknown field \"" + it.key() + "\" in a fasttext scorer config",
           "known fields: type, name, model, label");
  const std::string name = json_optional<std::string>(config, "name", "fasttext", where);
  if (name.empty()) fail(where, "field \"name\" is empty");
  if (!config.contains("model"))
    fail(where, "missing field \"model\"", "the .bin file written by prealign classifier train");
  const std::string path = json_required<std::string>(config, "model", where);
  auto model = FastTextModel::load(path);
  const std::string label = json_optional<std::string>(config, "label", "bad", where);
  const int id = model->label_id(label);
  if (id < 0) {
    std::string known;
    for (const auto& l : model->labels()) known += (known.empty() ? "" : ", ") + l;
    fail(where, "the model " + path + " has no label \"" + label + "\"", "its labels: " + known);
  }
  return std::make_unique<FastTextScorer>(name, std::move(model), id);
}

}  // namespace prealign
