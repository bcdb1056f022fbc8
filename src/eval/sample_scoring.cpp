#include "eval/sample_scoring.hpp"

#include <algorithm>
#include <iostream>

#include "core/error.hpp"
#include "core/lines.hpp"
#include "core/paths.hpp"
#include "core/utf8.hpp"
#include "corpus/document.hpp"
#include "corpus/reader.hpp"
#include "score/pipeline.hpp"

namespace prealign {

ScoredTexts score_texts(const std::vector<std::string>& texts, const std::string& config_name,
                        const std::string& work_prefix, const std::string& category) {
  const std::string config_path = resolve_config(config_name, kScoreConfigFolder);
  ScoreConfig config = ScoreConfig::from_json(read_json_file(config_path), config_path);
  const std::string in = work_prefix + ".texts.jsonl", out = work_prefix + ".scored.jsonl";
  {
    JsonlWriter w(in);
    for (size_t i = 0; i < texts.size(); ++i) w.write({{"id", "sample-" + std::to_string(i)}, {"text", replace_invalid_utf8(texts[i])}});
    w.commit();
  }
  ScoreRunOptions run;
  run.out = out;
  run.quiet = true;
  run.format = "jsonl";
  run.allow_nul = true;  // a model can emit anything; score it rather than stop
  run.skip_bad = true;   // one unscorable sample must not stop the evaluation; it is marked (below)
  const ScoreSummary summary = run_score({in}, config, run);

  ScoredTexts r;
  r.scores.assign(texts.size(), 0.0);
  r.scored.assign(texts.size(), false);
  read_corpus({out}, CorpusReadOptions{}, [&](Document&& d) {
    if (r.category.empty()) {
      if (d.categories.empty()) fail(out, "the scoring config produced no score categories");
      r.category = category.empty() ? d.categories.front() : category;
    }
    auto it = std::find(d.categories.begin(), d.categories.end(), r.category);
    if (it == d.categories.end()) fail(out, "no score category \"" + r.category + "\"", "pick one the config produces");
    const size_t c = static_cast<size_t>(it - d.categories.begin());
    double weighted = 0, chars = 0;
    for (const auto& s : d.segments) {
      double n = double(utf8_length(std::string_view(d.text).substr(s.begin, s.end - s.begin)));
      weighted += double(s.scores[c]) * n;
      chars += n;
    }
    // By id: a text the pipeline passed over stays unscored.
    const size_t i = std::stoul(d.id.substr(d.id.find('-') + 1));
    if (i < r.scores.size()) {
      r.scores[i] = chars > 0 ? weighted / chars : 0.0;
      r.scored[i] = true;
    }
  });
  for (size_t i = 0; i < texts.size(); ++i)
    if (texts[i].empty()) r.scored[i] = true;  // an empty text is no document: a clean 0
  if (const size_t n = r.unscored(); n > 0) {
    std::cerr << "warning: " << n << " of " << texts.size() << " samples could not be scored and are left out"
              << " of the statistics (texts in " << in << ")\n";
    for (const auto& e : summary.first_errors) std::cerr << "  " << e << "\n";
  }
  auto th = config.thresholds.find(r.category);
  r.threshold = th == config.thresholds.end() ? 0.0 : th->second;
  return r;
}

size_t ScoredTexts::unscored() const { return size_t(std::count(scored.begin(), scored.end(), false)); }

std::vector<double> ScoredTexts::scored_values() const {
  std::vector<double> v;
  for (size_t i = 0; i < scores.size(); ++i)
    if (scored[i]) v.push_back(scores[i]);
  return v;
}

}  // namespace prealign
