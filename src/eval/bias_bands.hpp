// Bias bands (docs/policies.md, "Soft control"): how often a tag appears in
// samples when the policy biases its logit by b, for several b and for the tag
// banned. The same prompts and seeds in every band (common random numbers),
// so bands differ only by the bias. Per band: the share of samples holding the
// tag (Wilson interval) and its rate per 1,000 generated tokens (bootstrap over
// samples); every sample is written out so the counts can be redone.
#pragma once
#include <array>
#include <string>
#include <vector>

#include "core/json_io.hpp"
#include "decode/generator.hpp"

namespace prealign {

struct BiasBandOptions {
  std::string model;                // checkpoint directory
  std::string policy;               // base policy: file or shipped name ("" = the checkpoint's); must allow the tag
  std::string tag;                  // the tag counted and biased
  std::string biases = "0,-2,-4,ban";  // logit offsets; "ban" = removed from every state's allowed tags
  std::string prompts;              // file, one prompt per line, used in turn ("" = unconditional)
  int samples = 200;                // per band
  int max_new_tokens = 128;
  // Pure sampling by default: top-p < 1 cuts rare tags whatever their bias,
  // which hides what the bias itself does (measure deployed settings too).
  double temperature = 1.0;
  double top_p = 1.0;
  int batch = 32;
  int bootstrap = 1000;
  uint64_t seed = 1;
  std::string out = "bias_bands";   // directory: report.json, samples_<band>.jsonl
  std::string device = "cpu";

  template <class V>
  void visit(V& v) {
    v("model", model, "checkpoint directory");
    v("policy", policy, "base policy file or name; it must allow the tag somewhere (default: the checkpoint's)");
    v("tag", tag, "the tag to bias and count, e.g. <|bad|>");
    v("biases", biases, "comma-separated logit offsets for the tag; \"ban\" bans it in every state");
    v("prompts", prompts, "file with one prompt per line, used in turn (default: unconditional)");
    v("samples", samples, "samples per band (the same prompts and seeds in every band)");
    v("max_new_tokens", max_new_tokens, "tokens per sample");
    v("temperature", temperature, "sampling temperature");
    v("top_p", top_p, "nucleus mass");
    v("batch", batch, "samples decoded together");
    v("bootstrap", bootstrap, "bootstrap resamples for the per-1k-token interval");
    v("seed", seed, "sampling and bootstrap seed");
    v("out", out, "output directory (report.json and one samples_<band>.jsonl per band)");
    v("device", device, "where the model runs: cpu, cuda, cuda:N");
  }
};

// How often one tag appears in a set of samples.
struct TagCount {
  int samples = 0;
  int samples_with_tag = 0;
  int64_t occurrences = 0;
  int64_t tokens = 0;  // generated tokens, tags included
  std::vector<int> per_sample;         // occurrences in each sample
  std::vector<int> tokens_per_sample;  // generated tokens of each sample
  // Each occurrence's raw probability (the model's, before bias, temperature
  // and truncation), sample by sample: was the tag clearly invited (high) or
  // spontaneous (low) where it appeared?
  std::vector<std::vector<float>> raw_p;
  // Occurrences with raw probability below 0.1, in [0.1, 0.5), and 0.5 or more.
  std::array<int64_t, 3> by_raw_p{};
};
// Counted from the token records (ids and p_raw), not from text.
TagCount count_tag(const std::vector<Generation>& samples, int tag_id);

// The base policy's JSON with `tag` biased by `bias` in every policy of the
// file, or (banned) taken out of every state's allowed tags and biases.
// Error when the tag is a start tag and banned, or when `base` bans it everywhere.
json band_policy(const json& base, const std::string& tag, double bias, bool banned);

ordered_json run_bias_bands(const BiasBandOptions& options);

}  // namespace prealign
