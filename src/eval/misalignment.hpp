// Misalignment (PHF's main metric): N samples from a checkpoint under a policy
// and sampling settings, optionally continuing prompts from a file; each sample
// (prompt + continuation, tags stripped) scored with the scoring config used for
// labeling; mean score, mean of the max over groups of 25, and the fraction of
// samples over the threshold, each with a bootstrap interval. For a pep8 config
// also each pycodestyle code per 1,000 characters and the share of samples that
// compile (eval/violation_rates.hpp).
//
// PHF's two scenarios (configs/pep8/*.yml of Korbak et al.'s code) as presets:
//   unconditional: no prompt, the aligned tag alone after BOS, up to 640 tokens
//                  (context included), no EOS before 10, scored without a prompt;
//   functions:     function-signature prompts, the policy's start tag *after*
//                  the prompt (PHF's prompt_before_control) and the prompt's
//                  line ended ("\n" appended), so the tag sits at a line start
//                  as in training; up to 272 tokens, no EOS before 10, scored
//                  with the prompt.
// Samples end at EOS or at the length limit; the report counts which.
#pragma once
#include <cmath>
#include <string>
#include <vector>

#include "core/json_io.hpp"

namespace prealign {

struct MisalignmentOptions {
  std::string model;            // checkpoint directory
  std::string scenario;         // "" (the settings below as given), "unconditional" or "functions" (PHF)
  std::string score_config = "pep8";  // score.json path or shipped name
  std::string category;         // "" = the config's first category
  std::string policy;           // "" = the checkpoint's policy
  std::string prompts;          // file, one prompt per line ("" = unconditional samples)
  int samples = 1024;           // PHF: 4096
  int max_new_tokens = -1;      // -1: 128, or no limit but max_length under a scenario
  int min_length = -1;          // whole sequence, context included (HF); -1: 10 under a scenario, else off
  int max_length = -1;          // whole sequence, context included (HF); -1: 640 / 272 under a scenario, else off
  std::string start_position;   // "" = the scenario's (functions: after_prompt), else the policy's
  std::string prompt_suffix = "-";  // appended to every prompt; "-" = the scenario's (functions: "\n"), else none
  double temperature = 0.7;     // PHF sampling settings
  double top_p = 0.9;
  int batch = 64;               // sequences decoded together
  int group = 25;               // PHF: expected max over 25 samples
  double threshold = NAN;       // over-threshold fraction; NaN = the score config's threshold
  bool score_prompt = true;     // score prompt + continuation (PHF) or the continuation alone
  int bootstrap = 1000;
  uint64_t seed = 1;
  std::string code_checks = "auto";  // pycodestyle codes and compile(): on | off | auto (on for a pep8 config)
  std::string out = "misalignment.json";
  std::string device = "cpu";  // where the model runs: cpu, cuda, cuda:N

  template <class V>
  void visit(V& v) {
    v("model", model, "checkpoint directory");
    v("scenario", scenario,
      "PHF's settings: unconditional (the tag alone, 640 tokens) or functions (tag after the prompt, 272 tokens)");
    v("score_config", score_config, "score config file or name (the one the corpus was labeled with)");
    v("category", category, "score category to report (default: the config's first)");
    v("policy", policy, "policy file or name, or \"none\" = unrestricted (default: the checkpoint's)");
    v("prompts", prompts, "file with one prompt per line, used in turn (default: unconditional)");
    v("samples", samples, "number of samples (PHF used 4096)");
    v("max_new_tokens", max_new_tokens, "tokens per sample at most (-1: 128; no limit but --max-length under a scenario)");
    v("min_length", min_length, "no EOS before the sequence, context included, is this long (-1: 10 under a scenario, else off)");
    v("max_length", max_length, "end when the sequence, context included, is this long (-1: 640/272 under a scenario, else off)");
    v("start_position", start_position,
      "before_prompt | after_prompt: where the policy's start tags go (default: functions after, else the policy's)");
    v("prompt_suffix", prompt_suffix,
      "text appended to every prompt (\"-\": a newline under --scenario functions, so the tag after it starts a line; else none)");
    v("temperature", temperature, "sampling temperature (PHF 0.7)");
    v("top_p", top_p, "nucleus mass (PHF 0.9)");
    v("batch", batch, "samples decoded together");
    v("group", group, "group size of the expected maximum (PHF 25)");
    v("threshold", threshold, "a sample is misaligned when its score is over this (default: the config's)");
    v("score_prompt", score_prompt, "score prompt + continuation (PHF); off: the continuation only");
    v("bootstrap", bootstrap, "bootstrap resamples for the confidence intervals");
    v("seed", seed, "sampling and bootstrap seed");
    v("code_checks", code_checks, "per-code violation rates and compile share: on, off, auto (on for a pep8 config)");
    v("out", out, "report JSON (samples go next to it as <out>.samples.jsonl)");
    v("device", device, "where the model runs: cpu, cuda, cuda:N");
  }
};

// One line per non-empty line of the file; Error naming the file when none.
std::vector<std::string> read_prompts(const std::string& path);

// The options with a scenario's defaults filled in (every -1 and "" resolved);
// Error for an unknown scenario or one that contradicts the options.
MisalignmentOptions resolve_scenario(const MisalignmentOptions& options);

ordered_json run_misalignment(const MisalignmentOptions& options);

}  // namespace prealign
