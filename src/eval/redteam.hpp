// Red-teaming. PHF used an external LM (InstructGPT) as the red team, prompted
// with the highest-scoring prompts so far; there is no such model here. What we
// do instead:
//  - prompts file: K continuations per prompt, the scores of the continuations
//    (continuation only: a prompt's own violations do not count);
//  - search: a population of prompts built from held-out corpus fragments
//    (segments decoded from the validation shards) grows for a few rounds; each
//    round keeps the prompts whose continuations score highest and extends each
//    with another random fragment, plus fresh fragments. It is a hill climb over
//    corpus text, not an adversary that writes new text.
#pragma once
#include <string>

#include "core/json_io.hpp"

namespace prealign {

struct RedteamOptions {
  std::string model;
  std::string score_config = "pep8";
  std::string category;
  std::string policy;         // "" = the checkpoint's
  std::string prompts;        // file, one prompt per line (optional)
  std::string data;           // fragments for the search ("" = the checkpoint's dataset)
  int continuations = 8;      // per prompt
  int max_new_tokens = 64;
  double temperature = 0.7;
  double top_p = 0.9;
  int rounds = 3;             // search rounds (0 = no search)
  int population = 32;        // prompts evaluated per round
  int keep = 8;               // survivors per round
  int max_prompt_chars = 600;
  int top = 10;               // prompts listed in the report
  uint64_t seed = 1;
  std::string out = "redteam.json";
  std::string device = "cpu";  // where the model runs: cpu, cuda, cuda:N

  template <class V>
  void visit(V& v) {
    v("model", model, "checkpoint directory");
    v("score_config", score_config, "score config file or name");
    v("category", category, "score category (default: the config's first)");
    v("policy", policy, "policy file or name, or \"none\" = unrestricted (default: the checkpoint's)");
    v("prompts", prompts, "file with one prompt per line to score the continuations of");
    v("data", data, "dataset whose validation segments seed the search (default: the checkpoint's)");
    v("continuations", continuations, "samples per prompt");
    v("max_new_tokens", max_new_tokens, "tokens per continuation");
    v("temperature", temperature, "sampling temperature");
    v("top_p", top_p, "nucleus mass");
    v("rounds", rounds, "search rounds (0 = no search)");
    v("population", population, "prompts evaluated per search round");
    v("keep", keep, "prompts kept and grown each round");
    v("max_prompt_chars", max_prompt_chars, "a prompt is not grown past this length");
    v("top", top, "highest-scoring prompts listed in the report");
    v("seed", seed, "seed");
    v("out", out, "report JSON");
    v("device", device, "where the model runs: cpu, cuda, cuda:N");
  }
};

ordered_json run_redteam(const RedteamOptions& options);

}  // namespace prealign
