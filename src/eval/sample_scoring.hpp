// Scores generated texts with a scoring config exactly as the corpus was scored:
// the texts go through run_score (the `prealign score` pipeline) as a JSONL
// corpus, and each text's score is the character-weighted mean of its segment
// scores in one category (for pep8 and pii: violations / detections per
// character of the whole text, PHF's per-sample score).
#pragma once
#include <string>
#include <vector>

namespace prealign {

struct ScoredTexts {
  std::string category;    // the category reported
  double threshold = 0;    // the config's threshold for it (default 0)
  std::vector<double> scores;  // one per text; 0 for an unscored one
  // False for a non-empty text the pipeline could not score (a scorer failed on
  // it, or it was bad input): callers leave those out of their statistics
  // instead of counting them as clean. An empty text is scored, as 0.
  std::vector<bool> scored;
  size_t unscored() const;                    // texts with scored[i] false
  std::vector<double> scored_values() const;  // the scores of the scored texts, in order
};

// `config`: a score.json path or shipped name (pep8, pii). `work_prefix`: files
// <prefix>.texts.jsonl and <prefix>.scored.jsonl are written (kept for audit).
// `category` "" = the config's first category. Unscored texts are counted and
// the first few are named on stderr.
ScoredTexts score_texts(const std::vector<std::string>& texts, const std::string& config,
                        const std::string& work_prefix, const std::string& category = "");

}  // namespace prealign
