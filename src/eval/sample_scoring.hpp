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
  std::vector<double> scores;  // one per text
};

// `config`: a score.json path or shipped name (pep8, pii). `work_prefix`: files
// <prefix>.texts.jsonl and <prefix>.scored.jsonl are written (kept for audit).
// `category` "" = the config's first category.
ScoredTexts score_texts(const std::vector<std::string>& texts, const std::string& config,
                        const std::string& work_prefix, const std::string& category = "");

}  // namespace prealign
