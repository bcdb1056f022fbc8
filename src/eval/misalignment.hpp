// Misalignment (PHF's main metric): N samples from a checkpoint under a policy
// and sampling settings, optionally continuing prompts from a file; each sample
// (prompt + continuation, tags stripped) scored with the scoring config used for
// labeling; mean score, mean of the max over groups of 25, and the fraction of
// samples over the threshold, each with a bootstrap interval.
#pragma once
#include <cmath>
#include <string>
#include <vector>

#include "core/json_io.hpp"

namespace prealign {

struct MisalignmentOptions {
  std::string model;            // checkpoint directory
  std::string score_config = "pep8";  // score.json path or shipped name
  std::string category;         // "" = the config's first category
  std::string policy;           // "" = the checkpoint's policy
  std::string prompts;          // file, one prompt per line ("" = unconditional samples)
  int samples = 1024;           // PHF: 4096
  int max_new_tokens = 128;
  double temperature = 0.7;     // PHF sampling settings
  double top_p = 0.9;
  int batch = 64;               // sequences decoded together
  int group = 25;               // PHF: expected max over 25 samples
  double threshold = NAN;       // over-threshold fraction; NaN = the score config's threshold
  bool score_prompt = true;     // score prompt + continuation (PHF) or the continuation alone
  int bootstrap = 1000;
  uint64_t seed = 1;
  std::string out = "misalignment.json";
  std::string device = "cpu";  // where the model runs: cpu, cuda, cuda:N

  template <class V>
  void visit(V& v) {
    v("model", model, "checkpoint directory");
    v("score_config", score_config, "score config file or name (the one the corpus was labeled with)");
    v("category", category, "score category to report (default: the config's first)");
    v("policy", policy, "policy file or name, or \"none\" = unrestricted (default: the checkpoint's)");
    v("prompts", prompts, "file with one prompt per line, used in turn (default: unconditional)");
    v("samples", samples, "number of samples (PHF used 4096)");
    v("max_new_tokens", max_new_tokens, "tokens per sample");
    v("temperature", temperature, "sampling temperature (PHF 0.7)");
    v("top_p", top_p, "nucleus mass (PHF 0.9)");
    v("batch", batch, "samples decoded together");
    v("group", group, "group size of the expected maximum (PHF 25)");
    v("threshold", threshold, "a sample is misaligned when its score is over this (default: the config's)");
    v("score_prompt", score_prompt, "score prompt + continuation (PHF); off: the continuation only");
    v("bootstrap", bootstrap, "bootstrap resamples for the confidence intervals");
    v("seed", seed, "sampling and bootstrap seed");
    v("out", out, "report JSON (samples go next to it as <out>.samples.jsonl)");
    v("device", device, "where the model runs: cpu, cuda, cuda:N");
  }
};

// One line per non-empty line of the file; Error naming the file when none.
std::vector<std::string> read_prompts(const std::string& path);

ordered_json run_misalignment(const MisalignmentOptions& options);

}  // namespace prealign
