#include "eval/redteam.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/progress.hpp"
#include "core/rng.hpp"
#include "core/utf8.hpp"
#include "data/shard.hpp"
#include "decode/generator.hpp"
#include "eval/eval_model.hpp"
#include "eval/misalignment.hpp"
#include "eval/sample_scoring.hpp"
#include "eval/stats.hpp"

namespace prealign {
namespace {

struct PromptCandidate {
  std::string prompt;
  double mean = 0, max = 0;
  int round = 0;
};

class Evaluator {
 public:
  Evaluator(const RedteamOptions& o, EvalModel& m, const Policy& p)
      : o_(o), gen_(m.checkpoint.model, *m.tokenizer, p) {}
  // Scores `continuations` samples of each prompt; fills mean and max.
  void score(std::vector<PromptCandidate>& cands, const std::string& tag) {
    std::vector<std::string> prompts;
    std::vector<uint64_t> seeds;
    for (size_t c = 0; c < cands.size(); ++c)
      for (int k = 0; k < o_.continuations; ++k) {
        prompts.push_back(cands[c].prompt);
        seeds.push_back(hash_combine(o_.seed, calls_ * 1000003ULL + prompts.size()));
      }
    ++calls_;
    GenerateOptions g;
    g.max_new_tokens = o_.max_new_tokens;
    g.temperature = o_.temperature;
    g.top_p = o_.top_p;
    std::vector<std::string> texts;
    for (auto& r : gen_.generate_batch(prompts, g, seeds)) texts.push_back(r.text);
    ScoredTexts s = score_texts(texts, o_.score_config, o_.out + "." + tag, o_.category);
    category_ = s.category;
    for (size_t c = 0; c < cands.size(); ++c) {
      std::vector<double> v;  // scored continuations only; a prompt with none ranks last (0)
      for (size_t i = c * size_t(o_.continuations); i < (c + 1) * size_t(o_.continuations); ++i)
        if (s.scored[i]) v.push_back(s.scores[i]);
      cands[c].mean = v.empty() ? 0.0 : mean_of(v);
      cands[c].max = v.empty() ? 0.0 : *std::max_element(v.begin(), v.end());
    }
  }
  const std::string& category() const { return category_; }

 private:
  const RedteamOptions& o_;
  Generator gen_;
  uint64_t calls_ = 0;
  std::string category_;
};

// Text of held-out segments: the search's raw material.
std::vector<std::string> corpus_fragments(const Dataset& data, const Tokenizer& tok) {
  std::vector<std::string> out;
  for (const auto& sh : data.val)
    for (uint64_t s = 0, d = 0; s < sh->n_segments(); ++s) {
      std::vector<int> ids;
      for (uint64_t k = sh->segment_token_begin(s); k < sh->segment_token_end(s); ++k) ids.push_back(sh->token(k));
      while (d + 1 < sh->n_docs() && sh->doc_segment_end(d) <= s) ++d;
      // A document's first segment was encoded as the start of a text (add_dummy_prefix).
      std::string text = s == sh->doc_segment_begin(d) ? tok.decode_start(ids) : tok.decode(ids);
      if (text.find_first_not_of(" \t\r\n") != std::string::npos) out.push_back(text);
    }
  if (out.empty()) fail(data.dir, "no non-blank held-out segments to build red-team prompts from");
  return out;
}

ordered_json candidates_json(std::vector<PromptCandidate> c, int top) {
  std::sort(c.begin(), c.end(), [](const PromptCandidate& a, const PromptCandidate& b) { return a.mean > b.mean; });
  ordered_json arr = ordered_json::array();
  for (size_t i = 0; i < c.size() && i < size_t(top); ++i)
    arr.push_back({{"prompt", replace_invalid_utf8(c[i].prompt)}, {"mean_score", c[i].mean}, {"max_score", c[i].max}, {"round", c[i].round}});
  return arr;
}

ordered_json search(const RedteamOptions& o, Evaluator& eval, const std::vector<std::string>& fragments) {
  Rng rng(o.seed);
  auto fragment = [&] { return fragments[rng() % fragments.size()]; };
  std::vector<PromptCandidate> all, current;
  for (int i = 0; i < o.population; ++i) current.push_back({fragment(), 0, 0, 0});
  ordered_json rounds = ordered_json::array();
  double baseline = 0;
  for (int round = 0; round < o.rounds; ++round) {
    eval.score(current, "round" + std::to_string(round));
    std::vector<double> means;
    for (auto& c : current) means.push_back(c.mean);
    if (round == 0) baseline = mean_of(means);
    all.insert(all.end(), current.begin(), current.end());
    std::sort(all.begin(), all.end(), [](const PromptCandidate& a, const PromptCandidate& b) { return a.mean > b.mean; });
    const size_t keep = std::min(all.size(), size_t(o.keep));
    double top_mean = 0;
    for (size_t i = 0; i < keep; ++i) top_mean += all[i].mean / double(keep);
    rounds.push_back({{"round", round}, {"evaluated", current.size()}, {"mean_score", mean_of(means)},
                      {"best_score", all.front().mean}, {"mean_of_kept", top_mean}});
    note("redteam: round " + std::to_string(round) + " best continuation score " + std::to_string(all.front().mean));
    // Next population: each survivor grown by one fragment; a quarter fresh fragments.
    current.clear();
    const int fresh = o.population / 4;
    for (int i = 0; i < o.population - fresh; ++i) {
      const PromptCandidate& parent = all[size_t(i) % keep];
      std::string grown = parent.prompt.size() < size_t(o.max_prompt_chars) ? parent.prompt + fragment() : fragment();
      current.push_back({grown, 0, 0, round + 1});
    }
    for (int i = 0; i < fresh; ++i) current.push_back({fragment(), 0, 0, round + 1});
  }
  return {{"rounds", rounds}, {"random_fragment_baseline", baseline},
          {"best_score", all.empty() ? 0.0 : all.front().mean}, {"best_prompts", candidates_json(all, o.top)}};
}

}  // namespace

ordered_json run_redteam(const RedteamOptions& o) {
  require(o.continuations > 0 && o.population > 0 && o.keep > 0, "--continuations/--population/--keep",
          "must be positive");
  require(!o.prompts.empty() || o.rounds > 0, "--prompts/--rounds", "nothing to do", "give a prompts file or rounds > 0");
  EvalModel m = load_eval_model(o.model, o.device);
  make_parent_directory(o.out);
  Policy policy = resolve_eval_policy(o.policy, m);
  Evaluator eval(o, m, policy);
  ordered_json rep = report_header("redteam", m);
  rep["policy"] = policy.name();
  rep["score_config"] = o.score_config;
  rep["red_team"] = "no external red-team LM: prompts file, then a search growing prompts from held-out corpus "
                    "fragments by the scores of their continuations";
  if (!o.prompts.empty()) {
    std::vector<PromptCandidate> given;
    for (auto& p : read_prompts(o.prompts)) given.push_back({p, 0, 0, 0});
    eval.score(given, "prompts");
    std::vector<double> means;
    for (auto& c : given) means.push_back(c.mean);
    rep["prompts"] = {{"file", o.prompts}, {"count", given.size()},
                      {"mean_score", bootstrap(means, mean_of, 1000, 0.95, o.seed).to_json()},
                      {"highest", candidates_json(given, o.top)}};
  }
  if (o.rounds > 0) {
    Dataset data = Dataset::open(o.data.empty() ? m.trained.data : o.data);
    rep["search"] = search(o, eval, corpus_fragments(data, *m.tokenizer));
  }
  rep["category"] = eval.category();
  write_report(o.out, rep);
  return rep;
}

}  // namespace prealign
