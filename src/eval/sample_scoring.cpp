#include "eval/sample_scoring.hpp"

#include <algorithm>

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
  const std::string config_path = resolve_config(config_name, "configs/score");
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
  run.skip_bad = true;   // an empty sample is not a document: it keeps score 0 (below)
  run_score({in}, config, run);

  ScoredTexts r;
  r.scores.assign(texts.size(), 0.0);
  size_t index = 0;
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
    // By id: a text the pipeline passes over (an empty one) keeps score 0.
    const size_t i = std::stoul(d.id.substr(d.id.find('-') + 1));
    if (i < r.scores.size()) r.scores[i] = chars > 0 ? weighted / chars : 0.0;
    ++index;
  });
  auto th = config.thresholds.find(r.category);
  r.threshold = th == config.thresholds.end() ? 0.0 : th->second;
  return r;
}

}  // namespace prealign
