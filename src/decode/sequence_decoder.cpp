// A sequence's decode step: raw logits -> temptation -> sampler chain ->
// record -> monitors -> the policy's dynamic rules, and what ends it.
#include "decode/sequence_decoder.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "decode/temptation.hpp"

namespace prealign {

namespace {

// The k most likely tokens under the raw logits, most likely first (ties: lower
// id), with their raw probabilities: O(V log k).
std::vector<RawAlternative> top_raw_tokens(const std::vector<float>& logits, double log_sum_exp, int k) {
  const size_t n = std::min(logits.size(), static_cast<size_t>(std::max(k, 0)));
  std::vector<int> ids(logits.size());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int>(i);
  auto more_likely = [&](int a, int b) {
    const float la = logits[static_cast<size_t>(a)], lb = logits[static_cast<size_t>(b)];
    return la > lb || (la == lb && a < b);
  };
  std::partial_sort(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(n), ids.end(), more_likely);
  std::vector<RawAlternative> out;
  for (size_t i = 0; i < n; ++i)
    out.push_back({ids[i], "", static_cast<float>(std::exp(double(logits[static_cast<size_t>(ids[i])]) - log_sum_exp))});
  return out;
}

// One generated position: temptation from the raw logits, then the chain.
TokenRecord next_token(const Policy& policy, SamplerChain& chain, const PolicyStage& stage,
                       const std::vector<float>& logits, int top_raw, Rng& rng, FiredRules& fired, Temptation& tempt) {
  const PolicyState& st = policy.state(stage.state());
  tempt = measure_temptation(logits.data(), static_cast<int>(logits.size()), st.banned);
  if (!std::isfinite(tempt.log_sum_exp))
    fail("generate", "the model produced non-finite logits", "the checkpoint is probably damaged (NaN or inf weights)");
  TokenRecord r;
  r.id = chain.sample(logits.data(), static_cast<int>(logits.size()), rng, &r.p_chosen);
  chain.accept(r.id);
  r.is_tag = policy.is_tag(r.id);
  r.state = st.name;
  r.p_raw = static_cast<float>(std::exp(static_cast<double>(logits[static_cast<size_t>(r.id)]) - tempt.log_sum_exp));
  for (const auto& [id, p] : tempt.per_tag) r.temptation.emplace_back(policy.tag_name(id), p);
  r.temptation_total = tempt.total;
  if (top_raw > 0) r.top_raw = top_raw_tokens(logits, tempt.log_sum_exp, top_raw);
  fired = check_temptation_rules(policy, tempt);
  r.flags = fired.flags;
  return r;
}

}  // namespace

void summarize_generation(Generation& g) {
  double sum = 0.0;
  g.text.clear();
  g.text_with_tags.clear();
  g.max_temptation = 0.f;
  g.flags = 0;
  for (const TokenRecord& r : g.tokens) {
    sum += r.temptation_total;
    g.max_temptation = std::max(g.max_temptation, r.temptation_total);
    g.flags += static_cast<int>(r.flags.size());
    if (!r.is_tag) g.text += r.text;
    g.text_with_tags += r.text;
  }
  g.mean_temptation = g.tokens.empty() ? 0.f : static_cast<float>(sum / static_cast<double>(g.tokens.size()));
}

SequenceDecoder::SequenceDecoder(const Policy& policy, const GenerateOptions& options, const std::vector<int>& context,
                                 int state, uint64_t seed)
    : policy_(policy),
      options_(options),
      chain_(make_sampler_chain(policy, options, &stage_, static_cast<int>(context.size()))),
      rng_(seed),
      rules_(policy, context) {
  stage_->set_state(state);
  RuleOutcome at_start = rules_.start(*stage_);  // context rules act before the first token
  fired_at_start_ = std::move(at_start.fired);
  flags_at_start_ = std::move(at_start.flags);
  g_.context = context;
  g_.finish_reason = "length";
}

int SequenceDecoder::state() const { return stage_->state(); }

const Policy& SequenceDecoder::active_policy() const { return stage_->policy(); }

int SequenceDecoder::step(const std::vector<float>& logits, int64_t max_len,
                          const std::function<std::string(int)>& token_text,
                          const std::function<void(TokenRecord&)>& monitor) {
  const Policy& used = stage_->policy();  // the policy this token is sampled under
  const int state_before = stage_->state();
  FiredRules fired;
  Temptation tempt;
  g_.tokens.push_back(next_token(used, chain_, *stage_, logits, options_.top_raw, rng_, fired, tempt));
  TokenRecord& r = g_.tokens.back();
  r.text = r.is_tag ? used.tag_name(r.id) : token_text(r.id);
  for (RawAlternative& a : r.top_raw) a.text = used.is_tag(a.id) ? used.tag_name(a.id) : token_text(a.id);
  if (policy_.members() > 1) r.policy = used.name();
  if (monitor) monitor(r);
  // The rules read the token, then act on the stage from the next token on.
  const RuleObservation seen{&tempt, &r.monitor, r.is_tag ? std::string_view() : std::string_view(r.text),
                             state_before, stage_->state(), static_cast<int>(g_.tokens.size())};
  RuleOutcome ruled = rules_.observe(seen, *stage_);
  r.rules = std::move(fired_at_start_);
  r.rules.insert(r.rules.end(), ruled.fired.begin(), ruled.fired.end());
  r.flags.insert(r.flags.end(), flags_at_start_.begin(), flags_at_start_.end());
  r.flags.insert(r.flags.end(), ruled.flags.begin(), ruled.flags.end());
  fired_at_start_.clear();
  flags_at_start_.clear();
  // Positions this sequence holds in the model; the chosen token is not fed yet.
  const int64_t in_model = static_cast<int64_t>(g_.context.size() + g_.tokens.size()) - 1;
  // A fired stop rule (then an end rule) wins over a natural end at the same
  // token: it is the signal an operator needs to see. The token itself was
  // allowed and is kept.
  if (!fired.stops.empty()) {
    g_.finish_reason = "temptation";
    g_.stopped_by = fired.stops.front();
    done_ = true;
  } else if (!ruled.ended_by.empty()) {
    g_.finish_reason = "rule";
    g_.stopped_by = ruled.ended_by;
    done_ = true;
  } else if (r.id == used.eos_id()) {
    g_.finish_reason = "eos";
    done_ = true;
  } else if (used.is_stop_tag(r.id)) {
    g_.finish_reason = "stop_tag";
    done_ = true;
  } else if (static_cast<int>(g_.tokens.size()) == options_.max_new_tokens || in_model >= max_len ||
             (options_.max_length > 0 && in_model + 1 >= options_.max_length)) {
    done_ = true;  // "length"
  }
  return r.id;
}

void SequenceDecoder::finish(const std::string& reason) {
  if (done_) return;
  g_.finish_reason = reason;
  done_ = true;
}

Generation SequenceDecoder::take() {
  summarize_generation(g_);
  return std::move(g_);
}

}  // namespace prealign
