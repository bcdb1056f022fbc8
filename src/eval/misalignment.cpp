#include "eval/misalignment.hpp"

#include <map>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/lines.hpp"
#include "core/paths.hpp"
#include "core/progress.hpp"
#include "core/utf8.hpp"
#include "decode/generator.hpp"
#include "eval/code_checks.hpp"
#include "eval/eval_model.hpp"
#include "eval/sample_scoring.hpp"
#include "eval/stats.hpp"
#include "eval/violation_rates.hpp"

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

MisalignmentOptions resolve_scenario(const MisalignmentOptions& in) {
  MisalignmentOptions o = in;
  const bool unconditional = o.scenario == "unconditional", functions = o.scenario == "functions";
  if (!o.scenario.empty() && !unconditional && !functions)
    fail("--scenario", "unknown scenario \"" + o.scenario + "\"", "use unconditional or functions (PHF's), or none");
  if (unconditional && !o.prompts.empty())
    fail("--scenario unconditional", "takes no --prompts", "use --scenario functions to continue prompts");
  if (functions && o.prompts.empty())
    fail("--scenario functions", "needs --prompts (function signatures, one per line)");
  const bool scenario = unconditional || functions;
  if (o.min_length < 0) o.min_length = scenario ? 10 : 0;
  if (o.max_length < 0) o.max_length = unconditional ? 640 : functions ? 272 : 0;
  if (o.max_new_tokens < 0) o.max_new_tokens = scenario ? o.max_length : 128;
  if (o.start_position.empty() && functions) o.start_position = "after_prompt";
  // A signature line without its newline would put the tag mid-line, after "):",
  // where training never put a tag: every tag there starts a line (segment).
  if (o.prompt_suffix == "-") o.prompt_suffix = functions ? "\n" : "";
  if (!o.start_position.empty() && o.start_position != "before_prompt" && o.start_position != "after_prompt")
    fail("--start-position", "unknown position \"" + o.start_position + "\"", "use before_prompt or after_prompt");
  if (functions) o.score_prompt = true;
  if (o.code_checks != "auto" && o.code_checks != "on" && o.code_checks != "off")
    fail("--code-checks", "unknown value \"" + o.code_checks + "\"", "use on, off or auto");
  return o;
}

namespace {

// The pep8 scorer of a score config, or null: its "ignore" list and "python"
// are what the code checks use, so the codes counted are the ones scored.
json pep8_scorer_of(const std::string& score_config) {
  const std::string path = resolve_config(score_config, kScoreConfigFolder);
  const json config = read_json_file(path);
  if (config.contains("scorers") && config["scorers"].is_array())
    for (const json& s : config["scorers"])
      if (s.is_object() && s.value("type", "") == "pep8") return s;
  return nullptr;
}

}  // namespace

ordered_json run_misalignment(const MisalignmentOptions& given) {
  const MisalignmentOptions o = resolve_scenario(given);
  require(o.samples > 0 && o.batch > 0 && o.group > 0, "--samples/--batch/--group", "must be positive");
  EvalModel m = load_eval_model(o.model, o.device);
  make_parent_directory(o.out);
  Policy policy = resolve_eval_policy(o.policy, m);
  if (!o.start_position.empty()) policy.set_start_after_prompt(o.start_position == "after_prompt");
  json pep8 = o.code_checks == "off" ? json(nullptr) : pep8_scorer_of(o.score_config);
  if (o.code_checks == "on" && pep8.is_null())
    fail("--code-checks on", "the score config " + o.score_config + " has no pep8 scorer", "code checks are for Python samples");
  std::vector<std::string> prompts = o.prompts.empty() ? std::vector<std::string>{""} : read_prompts(o.prompts);
  if (!o.prompts.empty())
    for (std::string& p : prompts) p += o.prompt_suffix;

  // Sample in batches; sample i continues prompt i mod |prompts| with seed (seed, i).
  Generator gen(m.checkpoint.model, *m.tokenizer, policy);
  GenerateOptions g;
  g.max_new_tokens = o.max_new_tokens;
  g.temperature = o.temperature;
  g.top_p = o.top_p;
  g.min_length = o.min_length;
  g.max_length = o.max_length;
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

  std::vector<CodeCheck> checks;
  if (!pep8.is_null()) {
    std::vector<std::string> ignore;
    if (pep8.contains("ignore")) ignore = pep8["ignore"].get<std::vector<std::string>>();
    checks = check_python_texts(texts, ignore, pep8.value("python", ""));
  }

  {
    JsonlWriter w(o.out + ".samples.jsonl");
    for (size_t i = 0; i < gens.size(); ++i) {
      json rec = {{"prompt", replace_invalid_utf8(gens[i].prompt)}, {"text", replace_invalid_utf8(gens[i].text)},
                  {"text_with_tags", replace_invalid_utf8(gens[i].text_with_tags)}, {"score", scored.scored[i] ? json(scored.scores[i]) : json(nullptr)},
                  {"finish_reason", gens[i].finish_reason}, {"max_temptation", gens[i].max_temptation},
                  {"mean_temptation", gens[i].mean_temptation}, {"new_tokens", gens[i].tokens.size()},
                  {"context_tokens", gens[i].context.size()}};
      if (!checks.empty()) {
        rec["compiles"] = checks[i].checked ? json(checks[i].compiles) : json(nullptr);
        rec["codes"] = checks[i].codes;
      }
      w.write(rec);
    }
    w.commit();
  }
  double temptation = 0, new_tokens = 0;
  std::map<std::string, uint64_t> finish;
  for (const auto& r : gens) {
    temptation += r.mean_temptation / double(gens.size());
    new_tokens += double(r.tokens.size()) / double(gens.size());
    ++finish[r.finish_reason];
  }

  const size_t group = static_cast<size_t>(o.group);
  ordered_json rep = report_header("misalignment", m);
  rep["scenario"] = o.scenario.empty() ? "custom" : o.scenario;
  rep["policy"] = policy.name();
  rep["start_position"] = policy.start_after_prompt() ? "after_prompt" : "before_prompt";
  rep["score_config"] = o.score_config;
  rep["category"] = scored.category;
  rep["threshold"] = threshold;
  rep["samples"] = gens.size();
  rep["unscored_samples"] = scored.unscored();  // left out of every statistic below
  rep["prompts"] = o.prompts.empty() ? "unconditional" : o.prompts;
  rep["settings"] = config_to_json(const_cast<MisalignmentOptions&>(o));  // with the scenario's defaults filled in
  rep["finish_reasons"] = finish;  // "eos": the model ended the sample; "length": cut at the limit
  rep["mean_new_tokens"] = new_tokens;
  rep["mean_score"] = bootstrap(s, mean_of, o.bootstrap, 0.95, o.seed).to_json();
  rep["group"] = group;
  rep["expected_max_score"] =
      bootstrap(s, [group](const std::vector<double>& v) { return mean_max_over_groups(v, group); }, o.bootstrap,
                0.95, o.seed + 1).to_json();
  rep["fraction_over_threshold"] =
      bootstrap(s, [threshold](const std::vector<double>& v) { return fraction_over(v, threshold); }, o.bootstrap,
                0.95, o.seed + 2).to_json();
  rep["mean_temptation"] = temptation;
  if (!checks.empty()) rep["code_checks"] = violation_rates(checks, o.bootstrap, o.seed + 3);
  rep["samples_file"] = o.out + ".samples.jsonl";
  write_report(o.out, rep);
  return rep;
}

}  // namespace prealign
