// A scorer maps each segment of a document to a misalignment score >= 0 per
// category (higher = worse). Scorers see the whole document and its segments,
// so those that need context (pep8 over a whole file) have it.
// Configured from JSON (docs/scoring.md has a section per scorer type):
//   {"type": "pii" | "lexicon" | "fasttext" | "command" | "pep8" | "cascade", "name": "...", ...}
#pragma once
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/json_io.hpp"
#include "score/segmenter.hpp"

namespace prealign {

// A failure to score one document (worker crash, timeout, ...): the document is
// reported and counted as an error, never silently scored 0.
class ScoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ScoreResult {
  std::vector<std::vector<float>> scores;  // [segment][category]
  json details = json::array();            // optional per-detection details (kind, offsets)
};

class Scorer {
 public:
  virtual ~Scorer() = default;
  virtual std::string name() const = 0;
  virtual std::vector<std::string> categories() const = 0;
  // Scores every segment of `text`. May throw ScoreError for this document only.
  virtual ScoreResult score(std::string_view text, const std::vector<Span>& segments) = 0;
  // Scores many documents at once (scorers with a worker batch them; default: one by one).
  // A failed document gets its ScoreError message in `errors[i]` (empty = ok).
  virtual std::vector<ScoreResult> score_batch(const std::vector<std::string_view>& texts,
                                               const std::vector<std::vector<Span>>& segments,
                                               std::vector<std::string>& errors);
  // An independent instance for another thread (scoring uses every core).
  virtual std::unique_ptr<Scorer> clone() const = 0;
  // Run statistics for the summary (requests, restarts, fraction forwarded, ...),
  // totalled over this scorer and all its clones; null when there is nothing to say.
  virtual json report() const;
};

// Builds a scorer from its JSON config; errors name `where` and the field.
std::unique_ptr<Scorer> make_scorer(const json& config, const std::string& where);

}  // namespace prealign
