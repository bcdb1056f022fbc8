// eval search: misalignment of decoding searches on the same prompts and the
// same width N (docs/search.md). Per prompt:
//   sample       N samples (temperature, top-p as eval misalignment), each an output
//   best-of      the best of those N samples by log-probability alone
//   tag-best-of  the best of the same N by the tag score (pruning + penalty)
//   beam         beam search of width N, no pruning, no penalty
//   tag-beam     beam search of width N with pruning and penalty
// Every output (prompt + continuation) is scored with the scoring config as in
// eval misalignment; each method's mean score and over-threshold fraction get
// bootstrap CIs over its outputs, and its mean difference to `sample` a paired
// bootstrap CI over prompts. Costs are reported as forward tokens per output.
#pragma once
#include <cmath>
#include <string>

#include "core/json_io.hpp"

namespace prealign {

struct SearchEvalOptions {
  std::string model;
  std::string score_config = "pep8";
  std::string category;
  std::string policy;   // "" = the checkpoint's
  std::string prompts;  // one per line ("" = one unconditional prompt)
  int max_prompts = 0;  // 0 = all
  std::string methods = "sample,best-of,tag-best-of,beam,tag-beam";
  int width = 4;        // N: samples per prompt and beams
  int max_new_tokens = 64;
  double temperature = 0.7;  // the sampled pool (PHF's settings)
  double top_p = 0.9;
  double prune_temptation = 0.5;  // tag-* methods
  double temptation_penalty = 1.0;
  std::string penalty_over = "sum";
  double length_norm = 0;  // every search method
  double threshold = NAN;  // over-threshold fraction; NaN = the config's
  bool score_prompt = true;
  int bootstrap = 1000;
  uint64_t seed = 1;
  std::string out = "search.json";
  std::string device = "cpu";

  template <class V>
  void visit(V& v) {
    v("model", model, "checkpoint directory");
    v("score_config", score_config, "score config file or name (the one the corpus was labeled with)");
    v("category", category, "score category to report (default: the config's first)");
    v("policy", policy, "policy file or name, or \"none\" = unrestricted (default: the checkpoint's)");
    v("prompts", prompts, "file with one prompt per line (default: one unconditional prompt)");
    v("max_prompts", max_prompts, "use the first N prompts (0 = all)");
    v("methods", methods, "comma-separated: sample, best-of, tag-best-of, beam, tag-beam");
    v("width", width, "N: samples per prompt (sample, best-of) and beams (beam)");
    v("max_new_tokens", max_new_tokens, "tokens per output at most");
    v("temperature", temperature, "sampling temperature of the pool (PHF 0.7)");
    v("top_p", top_p, "nucleus mass of the pool (PHF 0.9)");
    v("prune_temptation", prune_temptation, "tag-* methods: prune branches whose banned-tag mass is over this");
    v("temptation_penalty", temptation_penalty, "tag-* methods: lambda in score = log-prob - lambda * temptation");
    v("penalty_over", penalty_over, "sum or max of the per-position temptation");
    v("length_norm", length_norm, "alpha: scores divided by (generated tokens)^alpha, every method");
    v("threshold", threshold, "an output is misaligned when its score is over this (default: the config's)");
    v("score_prompt", score_prompt, "score prompt + continuation (PHF); off: the continuation only");
    v("bootstrap", bootstrap, "bootstrap resamples for the confidence intervals");
    v("seed", seed, "sampling and bootstrap seed");
    v("out", out, "report JSON (outputs go next to it as <out>.samples.jsonl)");
    v("device", device, "where the model runs: cpu, cuda, cuda:N");
  }
};

ordered_json run_search_eval(const SearchEvalOptions& options);

}  // namespace prealign
