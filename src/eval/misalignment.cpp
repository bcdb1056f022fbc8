#include "eval/misalignment.hpp"

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/lines.hpp"
#include "core/progress.hpp"
#include "core/utf8.hpp"
#include "decode/generator.hpp"
#include "eval/eval_model.hpp"
#include "eval/sample_scoring.hpp"
#include "eval/stats.hpp"

namespace prealign {

std::vector<std::string> read_prompts(const std::string& path) {
  std::vector<std::string> prompts;
  const std::string text = read_file(path);
  size_t b = 0;
  while (b < text.size()) {
    size_t e = text.find('\n', b);
    if (e == std::string::npos) e = text.size();
    std::string line = text.substr(b, e - b);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) prompts.push_back(line);
    b = e + 1;
  }
  if (prompts.empty()) fail(path, "no prompts (one per line expected)");
  return prompts;
}

ordered_json run_misalignment(const MisalignmentOptions& o) {
  require(o.samples > 0 && o.batch > 0 && o.group > 0, "--samples/--batch/--group", "must be positive");
  EvalModel m = load_eval_model(o.model, o.device);
  make_parent_directory(o.out);
  Policy policy = resolve_eval_policy(o.policy, m);
  std::vector<std::string> prompts = o.prompts.empty() ? std::vector<std::string>{""} : read_prompts(o.prompts);

  // Sample in batches; sample i continues prompt i mod |prompts| with seed (seed, i).
  Generator gen(m.checkpoint.model, *m.tokenizer, policy);
  GenerateOptions g;
  g.max_new_tokens = o.max_new_tokens;
  g.temperature = o.temperature;
  g.top_p = o.top_p;
  std::vector<Generation> gens;
  Progress progress("misalignment", static_cast<uint64_t>(o.samples));
  for (int start = 0; start < o.samples; start += o.batch) {
    std::vector<std::string> batch;
    std::vector<uint64_t> seeds;
    for (int i = start; i < std::min(o.samples, start + o.batch); ++i) {
      batch.push_back(prompts[size_t(i) % prompts.size()]);
      seeds.push_back(o.seed * 1000003ULL + uint64_t(i));
    }
    for (auto& r : gen.generate_batch(batch, g, seeds)) gens.push_back(std::move(r));
    progress.update(gens.size(), "sampling");
  }
  std::vector<std::string> texts;
  for (const auto& r : gens) texts.push_back(o.score_prompt ? r.prompt + r.text : r.text);
  progress.finish(std::to_string(gens.size()) + " samples");

  ScoredTexts scored = score_texts(texts, o.score_config, o.out + ".samples", o.category);
  const double threshold = std::isnan(o.threshold) ? scored.threshold : o.threshold;
  const std::vector<double> s = scored.scored_values();  // unscored samples are left out, never counted as clean
  if (s.empty())
    fail(o.out, "none of the " + std::to_string(texts.size()) + " samples could be scored", "see the scoring errors above");

  {
    JsonlWriter w(o.out + ".samples.jsonl");
    for (size_t i = 0; i < gens.size(); ++i) {
      json rec = {{"prompt", replace_invalid_utf8(gens[i].prompt)}, {"text", replace_invalid_utf8(gens[i].text)},
                  {"text_with_tags", replace_invalid_utf8(gens[i].text_with_tags)}, {"score", scored.scored[i] ? json(scored.scores[i]) : json(nullptr)},
                  {"finish_reason", gens[i].finish_reason}, {"max_temptation", gens[i].max_temptation},
                  {"mean_temptation", gens[i].mean_temptation}};
      w.write(rec);
    }
    w.commit();
  }
  double temptation = 0;
  for (const auto& r : gens) temptation += r.mean_temptation / double(gens.size());

  const size_t group = static_cast<size_t>(o.group);
  ordered_json rep = report_header("misalignment", m);
  rep["policy"] = policy.name();
  rep["score_config"] = o.score_config;
  rep["category"] = scored.category;
  rep["threshold"] = threshold;
  rep["samples"] = gens.size();
  rep["unscored_samples"] = scored.unscored();  // left out of every statistic below
  rep["prompts"] = o.prompts.empty() ? "unconditional" : o.prompts;
  rep["settings"] = config_to_json(const_cast<MisalignmentOptions&>(o));
  rep["mean_score"] = bootstrap(s, mean_of, o.bootstrap, 0.95, o.seed).to_json();
  rep["group"] = group;
  rep["expected_max_score"] =
      bootstrap(s, [group](const std::vector<double>& v) { return mean_max_over_groups(v, group); }, o.bootstrap,
                0.95, o.seed + 1).to_json();
  rep["fraction_over_threshold"] =
      bootstrap(s, [threshold](const std::vector<double>& v) { return fraction_over(v, threshold); }, o.bootstrap,
                0.95, o.seed + 2).to_json();
  rep["mean_temptation"] = temptation;
  rep["samples_file"] = o.out + ".samples.jsonl";
  write_report(o.out, rep);
  return rep;
}

}  // namespace prealign
