#include "eval/search_eval.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/files.hpp"
#include "core/lines.hpp"
#include "core/progress.hpp"
#include "core/utf8.hpp"
#include "decode/tag_search.hpp"
#include "eval/eval_model.hpp"
#include "eval/misalignment.hpp"
#include "eval/sample_scoring.hpp"
#include "eval/stats.hpp"

namespace prealign {

namespace {

const std::vector<std::string> kMethods = {"sample", "best-of", "tag-best-of", "beam", "tag-beam"};

std::vector<std::string> parse_methods(const std::string& list) {
  std::vector<std::string> out;
  size_t b = 0;
  while (b <= list.size()) {
    size_t e = list.find(',', b);
    if (e == std::string::npos) e = list.size();
    const std::string m = list.substr(b, e - b);
    if (!m.empty()) {
      if (std::find(kMethods.begin(), kMethods.end(), m) == kMethods.end())
        fail("--methods", "unknown method \"" + m + "\"", "use sample, best-of, tag-best-of, beam, tag-beam");
      if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(m);
    }
    b = e + 1;
  }
  if (out.empty()) fail("--methods", "no method given");
  return out;
}

// The search options of a method: tag-* prune and penalise, the others only rank.
SearchOptions method_options(const std::string& method, const SearchEvalOptions& o) {
  SearchOptions s;
  s.search = method.find("beam") != std::string::npos ? "beam" : "best-of";
  s.beam = o.width;
  s.penalty_over = o.penalty_over;
  s.length_norm = o.length_norm;
  if (method.rfind("tag-", 0) == 0) {
    s.prune_temptation = o.prune_temptation;
    s.temptation_penalty = o.temptation_penalty;
  }
  s.check();
  return s;
}

// One output of one method for one prompt.
struct Output {
  std::string method;
  size_t prompt = 0;
  int sample = -1;  // the pool sample (sample method), else -1
  Generation generation;
  double forward_tokens = 0;  // the method's cost of this output
  double search_score = 0;    // under the method's options (sample: the tag score, for reference)
  bool pruned = false;        // over the threshold somewhere (tag-* options)
  int64_t fallbacks = 0;
};

json output_record(const Output& o, const std::string& prompt, const ScoredTexts& scored, size_t i) {
  const Generation& g = o.generation;
  return {{"method", o.method},
          {"prompt_index", o.prompt},
          {"sample", o.sample},
          {"prompt", replace_invalid_utf8(prompt)},
          {"text", replace_invalid_utf8(g.text)},
          {"text_with_tags", replace_invalid_utf8(g.text_with_tags)},
          {"score", scored.scored[i] ? json(scored.scores[i]) : json(nullptr)},
          {"generated_tokens", g.tokens.size()},
          {"forward_tokens", o.forward_tokens},
          {"finish_reason", g.finish_reason},
          {"max_temptation", g.max_temptation},
          {"mean_temptation", g.mean_temptation},
          {"search_score", o.search_score},
          {"over_prune_threshold", o.pruned},
          {"fallbacks", o.fallbacks}};
}

// Per method: CIs over its outputs, cost, and the paired difference to sampling.
ordered_json method_summary(const std::string& method, const std::vector<Output>& outs, const ScoredTexts& scored,
                            double threshold, const SearchEvalOptions& o) {
  std::vector<double> s;
  double forward = 0, generated = 0, temptation = 0, over = 0;
  int64_t fallbacks = 0, n = 0;
  std::map<size_t, std::vector<double>> by_prompt, sample_by_prompt;
  for (size_t i = 0; i < outs.size(); ++i) {
    const Output& out = outs[i];
    if (out.method == "sample" && scored.scored[i]) sample_by_prompt[out.prompt].push_back(scored.scores[i]);
    if (out.method != method) continue;
    ++n;
    forward += out.forward_tokens;
    generated += double(out.generation.tokens.size());
    temptation += out.generation.max_temptation;
    over += out.pruned ? 1 : 0;
    fallbacks += out.fallbacks;
    if (!scored.scored[i]) continue;
    s.push_back(scored.scores[i]);
    by_prompt[out.prompt].push_back(scored.scores[i]);
  }
  ordered_json j;
  j["outputs"] = n;
  j["scored_outputs"] = s.size();
  if (s.empty()) return j;
  j["mean_score"] = bootstrap(s, mean_of, o.bootstrap, 0.95, o.seed).to_json();
  j["fraction_over_threshold"] =
      bootstrap(s, [threshold](const std::vector<double>& v) { return fraction_over(v, threshold); }, o.bootstrap,
                0.95, o.seed + 1).to_json();
  j["forward_tokens_per_output"] = forward / double(n);
  j["generated_tokens_per_output"] = generated / double(n);
  j["mean_max_temptation"] = temptation / double(n);
  j["fraction_over_prune_threshold"] = over / double(n);
  j["fallbacks"] = fallbacks;
  if (method != "sample" && !sample_by_prompt.empty()) {
    // Paired by prompt: this method's output minus the mean of the prompt's samples.
    std::vector<double> diff;
    for (const auto& [p, v] : by_prompt) {
      auto it = sample_by_prompt.find(p);
      if (it != sample_by_prompt.end()) diff.push_back(mean_of(v) - mean_of(it->second));
    }
    if (!diff.empty()) {
      j["paired_prompts"] = diff.size();
      j["difference_to_sample"] = bootstrap(diff, mean_of, o.bootstrap, 0.95, o.seed + 2).to_json();
    }
  }
  return j;
}

std::string number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", x);
  return buf;
}

std::string with_ci(const json& e) {
  return number(e["value"].get<double>()) + " [" + number(e["ci_low"].get<double>()) + ", " +
         number(e["ci_high"].get<double>()) + "]";
}

// The report as one Markdown table (experiments/check_report.py search recounts it from the samples).
std::string markdown_table(const ordered_json& rep) {
  std::string t =
      "| method | outputs | misalignment [95% CI] | minus sample, paired by prompt [95% CI] | fraction over " +
      number(rep["threshold"].get<double>()) +
      " [95% CI] | forward tokens / output | generated tokens / output | mean max temptation | over the prune "
      "threshold | fallbacks |\n|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& [method, row] : rep["methods"].items()) {
    if (!row.contains("mean_score")) continue;
    t += "| " + method + " | " + std::to_string(row["outputs"].get<int64_t>()) + " | " + with_ci(row["mean_score"]) +
         " | " + (row.contains("difference_to_sample") ? with_ci(row["difference_to_sample"]) : std::string("-")) +
         " | " + with_ci(row["fraction_over_threshold"]) + " | " + number(row["forward_tokens_per_output"].get<double>()) + " | " +
         number(row["generated_tokens_per_output"].get<double>()) + " | " + number(row["mean_max_temptation"].get<double>()) + " | " +
         number(row["fraction_over_prune_threshold"].get<double>()) + " | " + std::to_string(row["fallbacks"].get<int64_t>()) +
         " |\n";
  }
  return t;
}

}  // namespace

ordered_json run_search_eval(const SearchEvalOptions& o) {
  require(o.width > 0 && o.max_new_tokens > 0 && o.max_prompts >= 0, "--width/--max-new-tokens/--max-prompts",
          "must be positive (max-prompts: 0 = all)");
  const std::vector<std::string> methods = parse_methods(o.methods);
  EvalModel m = load_eval_model(o.model, o.device);
  make_parent_directory(o.out);
  const Policy policy = resolve_eval_policy(o.policy, m);
  std::vector<std::string> prompts = o.prompts.empty() ? std::vector<std::string>{""} : read_prompts(o.prompts);
  if (o.max_prompts > 0 && prompts.size() > size_t(o.max_prompts)) prompts.resize(size_t(o.max_prompts));
  std::map<std::string, SearchOptions> options;
  for (const std::string& method : methods)
    if (method != "sample") options[method] = method_options(method, o);
  SearchOptions tag_score = method_options("tag-best-of", o);  // shown for sample outputs

  GenerateOptions g;
  g.max_new_tokens = o.max_new_tokens;
  g.temperature = o.temperature;
  g.top_p = o.top_p;
  ModelLogits source(m.checkpoint.model);
  const Tokenizer& tok = *m.tokenizer;
  auto text = [&tok](int id) { return tok.token_bytes(id); };
  const bool pool = std::count_if(methods.begin(), methods.end(), [](const std::string& x) {
                      return x == "sample" || x.find("best-of") != std::string::npos;
                    }) > 0;

  std::vector<Output> outs;
  Progress progress("search", prompts.size());
  for (size_t p = 0; p < prompts.size(); ++p) {
    const std::vector<int> context = prompt_context(tok, policy, prompts[p]);
    const int state = policy.state_after_start();
    if (pool) {
      // One pool of N samples (seeds as eval misalignment's, per prompt) serves sample and both best-ofs.
      std::vector<uint64_t> seeds;
      for (int k = 0; k < o.width; ++k) seeds.push_back(o.seed * 1000003ULL + uint64_t(p) * uint64_t(o.width) + uint64_t(k));
      const SearchResult r = best_of(source, policy, context, state, g, tag_score, seeds, text);
      const double cost = double(r.stats.forward_tokens);
      for (const std::string& method : methods) {
        if (method == "sample") {
          for (size_t k = 0; k < r.samples.size(); ++k)
            outs.push_back({"sample", p, int(k), r.samples[k], cost / double(o.width),
                            search_score(r.sample_scores[k], tag_score), r.sample_scores[k].pruned, 0});
        } else if (method.find("best-of") != std::string::npos) {
          // The same pool, chosen from under this method's options.
          const SearchOptions& s = options[method];
          bool fallback = false;
          const size_t best = choose_best(r.sample_scores, s, &fallback);
          const auto& c = r.sample_scores[best];
          outs.push_back({method, p, -1, r.samples[best], cost, search_score(c, s),
                          c.max_temptation > s.prune_temptation, fallback ? 1 : 0});
        }
      }
    }
    for (const std::string& method : methods) {
      if (method.find("beam") == std::string::npos) continue;
      const SearchResult r = beam_search(source, policy, context, state, g, options[method], text);
      outs.push_back({method, p, -1, r.generation, double(r.stats.forward_tokens), r.stats.score,
                      r.generation.max_temptation > options[method].prune_temptation, r.stats.fallbacks});
    }
    progress.update(p + 1, "prompts");
  }
  progress.finish(std::to_string(outs.size()) + " outputs");

  std::vector<std::string> texts;
  for (const Output& out : outs)
    texts.push_back(o.score_prompt ? prompts[out.prompt] + out.generation.text : out.generation.text);
  ScoredTexts scored = score_texts(texts, o.score_config, o.out + ".samples", o.category);
  const double threshold = std::isnan(o.threshold) ? scored.threshold : o.threshold;
  {
    JsonlWriter w(o.out + ".samples.jsonl");
    for (size_t i = 0; i < outs.size(); ++i) w.write(output_record(outs[i], prompts[outs[i].prompt], scored, i));
    w.commit();
  }

  ordered_json rep = report_header("search", m);
  rep["policy"] = policy.name();
  rep["score_config"] = o.score_config;
  rep["category"] = scored.category;
  rep["threshold"] = threshold;
  rep["prompts"] = prompts.size();
  rep["prompts_file"] = o.prompts.empty() ? "unconditional" : o.prompts;
  rep["width"] = o.width;
  rep["settings"] = config_to_json(const_cast<SearchEvalOptions&>(o));
  rep["unscored_outputs"] = scored.unscored();
  ordered_json per_method;
  for (const std::string& method : methods)
    per_method[method] = method_summary(method, outs, scored, threshold, o);
  rep["methods"] = per_method;
  rep["samples_file"] = o.out + ".samples.jsonl";
  rep["table_file"] = o.out + ".md";
  write_file_atomic(o.out + ".md", markdown_table(rep));
  write_report(o.out, rep);
  std::printf("%s", markdown_table(rep).c_str());
  return rep;
}

}  // namespace prealign
