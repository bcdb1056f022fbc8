#include "eval/mode_samples.hpp"

#include <algorithm>

#include "core/paths.hpp"
#include "core/utf8.hpp"
#include "model/runtime.hpp"
#include "synth/world.hpp"

namespace prealign {

ModeModel ModeModel::load(const std::string& dir, const std::string& policy, const std::string& device) {
  const std::string path = resolve_config(policy, kPolicyFolder);
  LoadedCheckpoint ck = load_checkpoint(dir, parse_device(device));
  Tokenizer tok = Tokenizer::load_dir(dir);
  const TagVocabulary vocab = TagVocabulary::of(tok);
  Policy p = Policy::load(path, vocab);
  return {std::move(ck), std::move(tok), ModeGrammar::load(path), p, Policy::unrestricted(vocab)};
}

std::vector<int> scenario_context(const ModeModel& m, const Scenario& s, bool locked) {
  const Tokenizer& tok = m.tokenizer;
  std::vector<int> ctx = {Tokenizer::kBos};
  for (size_t i = 0; i < s.turns.size(); ++i) {
    // plain text: typed tags stay text; the first turn starts the text (add_dummy_prefix)
    std::vector<int> ids = i == 0 ? tok.encode_start(s.turns[i]) : tok.encode(s.turns[i]);
    const bool ai_turn = i % 2 == 1;
    if (ai_turn) ctx.push_back(tok.tag_id("<AI>"));
    ctx.insert(ctx.end(), ids.begin(), ids.end());
    if (ai_turn) ctx.push_back(tok.tag_id("</AI>"));
  }
  if (locked)
    for (int t : m.policy.start_tags()) ctx.push_back(t);
  return ctx;
}

std::vector<LintViolation> lint_sample(const ModeGrammar& g, const Generation& gen, const std::string& id,
                                       ModeStats& stats) {
  std::vector<MarkupPiece> pieces;
  uint64_t offset = 0;
  for (const std::string& t : g.start_tags) {
    pieces.push_back({true, t, offset});
    offset += t.size();
  }
  for (const TokenRecord& r : gen.tokens) {
    if (!r.is_tag && !pieces.empty() && !pieces.back().is_tag) {
      pieces.back().text += r.text;  // text tokens join into runs, as markup text would
    } else {
      pieces.push_back({r.is_tag, r.text, offset});
    }
    offset += r.text.size();
  }
  LintOptions o;
  o.generation = true;
  o.require_end = gen.finish_reason == "eos";  // cut by length or a stop rule is not a grammar error
  std::vector<LintViolation> v;
  lint_pieces(g, pieces, id, o, v, stats);
  return v;
}

std::vector<ModeSample> sample_scenarios(ModeModel& m, const std::vector<Scenario>& scenarios, bool locked,
                                         const GenerateOptions& options, int batch_size) {
  const Policy& policy = locked ? m.policy : m.unrestricted;
  const int start_state = locked ? policy.state_after_start() : policy.initial_state();
  const int ai_close = m.tokenizer.tag_id("</AI>");
  const auto text_of = [&](int id) { return m.tokenizer.token_bytes(id); };
  std::vector<ModeSample> out;
  for (size_t first = 0; first < scenarios.size(); first += static_cast<size_t>(batch_size)) {
    const size_t end = std::min(scenarios.size(), first + static_cast<size_t>(batch_size));
    std::vector<std::vector<int>> contexts;
    std::vector<uint64_t> seeds;
    for (size_t i = first; i < end; ++i) {
      contexts.push_back(scenario_context(m, scenarios[i], locked));
      seeds.push_back(options.seed + i);
    }
    std::vector<int> states(contexts.size(), start_state);
    std::vector<Generation> gens = decode_batch(m.checkpoint.model, policy, contexts, states, options, seeds, text_of);
    for (Generation& g : gens) {
      ModeSample s;
      s.harm = find_harm_lexemes(g.text);
      for (const TokenRecord& r : g.tokens)
        for (const auto& [tag, p] : r.temptation)
          if (tag == policy.tag_name(ai_close)) s.max_banned_ai_close = std::max(s.max_banned_ai_close, p);
      s.generation = std::move(g);
      out.push_back(std::move(s));
    }
  }
  return out;
}

}  // namespace prealign

namespace prealign {

json mode_sample_record(const std::string& group, const Scenario& scenario, const ModeSample& sample) {
  json r = generation_to_json(sample.generation);
  r["group"] = group;
  r["family"] = scenario.family;
  r["jailbreak"] = scenario.jailbreak;
  json turns = json::array();
  for (const std::string& t : scenario.turns) turns.push_back(replace_invalid_utf8(t));
  r["turns"] = turns;
  r["harm"] = sample.harm;
  json v = json::array();
  for (const LintViolation& x : sample.violations) v.push_back({{"kind", x.kind}, {"offset", x.offset}});
  r["violations"] = v;
  r["max_banned_ai_close"] = sample.max_banned_ai_close;
  return r;
}

std::string samples_path_for(const std::string& report_path) {
  return report_path.empty() ? "" : report_path + ".samples.jsonl";  // as eval misalignment names its samples
}

ordered_json summarize_samples(const std::vector<const ModeSample*>& samples) {
  const double n = static_cast<double>(samples.size());
  double harmful = 0, exits = 0, mean_t = 0, max_t = 0, mean_max_t = 0, max_close = 0, flagged = 0, stopped = 0;
  double tokens = 0, violations = 0;
  for (const ModeSample* s : samples) {
    const Generation& g = s->generation;
    harmful += !s->harm.empty();
    exits += g.finish_reason == "stop_tag";
    mean_t += g.mean_temptation;
    max_t = std::max<double>(max_t, g.max_temptation);
    mean_max_t += g.max_temptation;
    max_close = std::max<double>(max_close, s->max_banned_ai_close);
    flagged += g.flags > 0;
    stopped += g.finish_reason == "temptation";
    tokens += static_cast<double>(g.tokens.size());
    violations += static_cast<double>(s->violations.size());
  }
  const auto rate = [&](double x) { return n > 0 ? x / n : 0.0; };
  ordered_json j;
  j["samples"] = samples.size();
  j["harmful_rate"] = rate(harmful);
  j["harmful_samples"] = harmful;
  j["exit_rate"] = rate(exits);
  j["mean_temptation"] = rate(mean_t);
  j["mean_max_temptation"] = rate(mean_max_t);
  j["max_temptation"] = max_t;
  j["max_banned_ai_close"] = max_close;
  j["flag_rate"] = rate(flagged);
  j["stop_rate"] = rate(stopped);
  j["violations"] = violations;
  j["mean_tokens"] = rate(tokens);
  return j;
}

}  // namespace prealign
