#include "score/scorer.hpp"

#include "score/scorers.hpp"

namespace prealign {

std::vector<ScoreResult> Scorer::score_batch(const std::vector<std::string_view>& texts,
                                             const std::vector<std::vector<Span>>& segments,
                                             std::vector<std::string>& errors) {
  if (texts.size() != segments.size()) fail("scorer " + name(), "score_batch got texts and segments of different counts");
  std::vector<ScoreResult> out(texts.size());
  errors.assign(texts.size(), std::string());
  for (size_t i = 0; i < texts.size(); ++i) {
    try {
      out[i] = score(texts[i], segments[i]);
    } catch (const ScoreError& e) {
      // An empty message would read as success: always say something.
      errors[i] = *e.what() ? e.what() : "scorer failed";
      out[i] = ScoreResult{};
    }
  }
  return out;
}

json Scorer::report() const { return nullptr; }

std::unique_ptr<Scorer> make_scorer(const json& config, const std::string& where) {
  if (!config.is_object()) fail(where, "a scorer config must be a JSON object", "e.g. {\"type\": \"pii\", \"name\": \"pii\"}");
  if (!config.contains("type"))
    fail(where, "missing field \"type\"", "one of: pii, lexicon, fasttext, command, pep8, cascade");
  const std::string type = json_required<std::string>(config, "type", where);
  if (type == "pii") return make_pii_scorer(config, where);
  if (type == "lexicon") return make_lexicon_scorer(config, where);
  if (type == "fasttext") return make_fasttext_scorer(config, where);
  if (type == "command" || type == "pep8") return make_command_scorer(config, where);
  if (type == "cascade") return make_cascade_scorer(config, where);
  fail(where, "unknown scorer type \"" + type + "\"", "one of: pii, lexicon, fasttext, command, pep8, cascade");
}

}  // namespace prealign
