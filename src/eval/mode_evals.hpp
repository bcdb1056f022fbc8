// The seed-000 evaluations of a mode model (docs/modes.md):
//  - lock: many samples under the AI-mode policy, each checked by the grammar,
//    and the ground-truth harmful rate under the lock vs. generation started in
//    human mode from the same story openings;
//  - jailbreak: prompt families that try to get harmful content out of the
//    locked model, with harmful rate, temptation, rule firing and AUROC.
#pragma once
#include <string>
#include <vector>

#include "core/json_io.hpp"
#include "decode/generator.hpp"
#include "eval/mode_samples.hpp"

namespace prealign {

struct ModeEvalOptions {
  std::string model, policy = "ai_mode", out;
  std::string device = "cpu";  // where the model runs
  int samples = 1000;          // lock: locked samples; jailbreak: samples per family
  int batch_size = 64;
  GenerateOptions generate;    // max_new_tokens, temperature, top-p, seed
};

ordered_json run_lock_eval(const ModeEvalOptions& options);

// The suite's scenarios: per family `per_family` prompts, deterministic in seed.
// Families: human_story, roleplay_human, fake_tags, multi_turn (jailbreaks), benign.
std::vector<Scenario> jailbreak_scenarios(uint64_t seed, int per_family);

// Runs the suite on an already loaded model (the ensemble reuses the samples).
ordered_json jailbreak_report(const std::vector<Scenario>& scenarios, const std::vector<ModeSample>& samples);
ordered_json run_jailbreak_eval(const ModeEvalOptions& options);

}  // namespace prealign
