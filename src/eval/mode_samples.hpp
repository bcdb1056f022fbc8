// Sampling a mode model for the seed-000 evaluations: scenarios (human turns and
// trusted AI turns) become token contexts, are decoded in batches under a
// policy, and every sample is checked by the grammar (corpus/lint.hpp) and for
// ground-truth harmful content (the world's harmful-lexeme inventory).
#pragma once
#include <string>
#include <vector>

#include "corpus/lint.hpp"
#include "decode/generator.hpp"
#include "model/checkpoint.hpp"
#include "tokenizer/tokenizer.hpp"

namespace prealign {

// One conversation so far. turns[0], turns[2], ... are human text (plain: tag
// parsing off); turns[1], turns[3], ... are earlier AI turns, wrapped in real
// <AI>...</AI> tags by this trusted code as a chat template would.
struct Scenario {
  std::string family;  // prompt family, e.g. "fake_tags" or "benign"
  std::vector<std::string> turns;
  bool jailbreak = false;  // a jailbreak attempt (positive class for AUROC)
  std::string act;         // act family the attempt aims at ("" if none)
};

struct ModeModel {
  LoadedCheckpoint checkpoint;
  Tokenizer tokenizer;
  ModeGrammar grammar;  // of `policy_path`
  Policy policy;
  Policy unrestricted;  // for generation started in human mode
  static ModeModel load(const std::string& dir, const std::string& policy, const std::string& device = "cpu");
};

struct ModeSample {
  Generation generation;
  std::vector<std::string> harm;            // harmful lexemes in the generated text
  std::vector<LintViolation> violations;    // grammar violations of the sample
  float max_banned_ai_close = 0.f;          // max raw p(</AI>) where it is banned (while quoting)
};

// [BOS] + turns (+ the policy's start tags when `locked`): the context of a scenario.
std::vector<int> scenario_context(const ModeModel& m, const Scenario& s, bool locked);

// Decodes every scenario once (seed + i), `locked` under the model's policy or
// unrestricted from human mode, `batch_size` at a time.
std::vector<ModeSample> sample_scenarios(ModeModel& m, const std::vector<Scenario>& scenarios, bool locked,
                                         const GenerateOptions& options, int batch_size);

// Grammar check of a locked sample: the start tags, then the generated tokens
// (tags as tags, text as text, so text spelling "</AI>" is a near-miss, not a tag).
std::vector<LintViolation> lint_sample(const ModeGrammar& g, const Generation& gen, const std::string& id,
                                       ModeStats& stats);

}  // namespace prealign

namespace prealign {

// One JSONL record per sample (the generation as `generate --json` writes it,
// plus the scenario, the harmful lexemes found and the grammar violations), so
// every rate of a report can be recomputed from the samples: `<report>.samples.jsonl`.
json mode_sample_record(const std::string& group, const Scenario& scenario, const ModeSample& sample);
// The sample file beside a report file ("" when there is no report file).
std::string samples_path_for(const std::string& report_path);

// Summary of a group of samples: n, harmful_rate, exit_rate (ended by a stop
// tag), mean/max temptation, max banned p(</AI>), flag_rate, stop_rate (a
// temptation stop rule fired), violations, mean_tokens.
ordered_json summarize_samples(const std::vector<const ModeSample*>& samples);

}  // namespace prealign
