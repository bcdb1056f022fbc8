// The per-sequence state of dynamic rules: which policy of the file is active,
// which rules have fired, how long each watched value has stayed above its
// level, and the end of the generated text the "text" rules search.
#include "decode/rule_engine.hpp"

#include <algorithm>
#include <cstdio>

#include "core/error.hpp"

namespace prealign {

namespace {

std::string number(float x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", static_cast<double>(x));
  return buf;
}

std::string signed_number(float x) { return (x >= 0 ? "+" : "") + number(x); }

}  // namespace

RuleEngine::RuleEngine(const Policy& top, const std::vector<int>& context) : top_(top) {
  for (int t : context)
    if (top.is_tag(t)) context_tags_.push_back(t);
  std::sort(context_tags_.begin(), context_tags_.end());
  for (int m = 0; m < top.members(); ++m) {
    fired_.emplace_back(top.member(m).rules().size(), 0);
    for (const PolicyRule& r : top.member(m).rules())
      if (r.when == RuleWhen::Text) longest_text_ = std::max(longest_text_, r.watched.size());
  }
}

std::string RuleEngine::token_name(int token) const {
  if (top_.is_tag(token)) return top_.tag_name(token);
  if (token == top_.eos_id()) return "EOS";
  return "token " + std::to_string(token);
}

bool RuleEngine::text_appeared(const std::string& needle) const {
  // An occurrence that ends inside the bytes the current token added.
  const size_t old_bytes = window_.size() - new_bytes_;
  if (new_bytes_ == 0 || window_.size() < needle.size()) return false;
  const size_t from = old_bytes >= needle.size() - 1 ? old_bytes - (needle.size() - 1) : 0;
  return window_.find(needle, from) != std::string::npos;
}

bool RuleEngine::act(const PolicyRule& rule, PolicyStage& stage, RuleOutcome& out) {
  switch (rule.action) {
    case RuleDo::End:
      out.fired.push_back({rule.label, "ended the response"});
      out.ended_by = rule.label;
      return true;
    case RuleDo::Flag:
      out.fired.push_back({rule.label, "flagged"});
      out.flags.push_back(rule.label);
      return false;
    case RuleDo::Bias: {
      std::string what;
      for (const auto& [token, delta] : rule.bias) {
        stage.add_bias(token, delta);
        what += (what.empty() ? "" : ", ") + token_name(token) + " " + signed_number(delta) + " (now " +
                number(stage.bias_of(token)) + ")";
      }
      out.fired.push_back({rule.label, "bias " + what});
      return false;
    }
    case RuleDo::RemoveBias: {
      std::string what;
      for (int token : rule.unbias) {
        stage.remove_added_bias(token);
        what += (what.empty() ? "" : ", ") + token_name(token) + " (now " + number(stage.bias_of(token)) + ")";
      }
      out.fired.push_back({rule.label, "removed rule biases: " + what});
      return false;
    }
    case RuleDo::Switch: {
      const std::string& from = stage.policy().state(stage.state()).name;
      const int state = switch_state(top_, rule, from);
      const Policy& target = top_.member(rule.target);
      stage.switch_policy(target, state);
      active_ = rule.target;
      out.fired.push_back({rule.label, "switched to policy \"" + target.name() + "\" (state \"" +
                                           target.state(state).name + "\")"});
      activate(stage, out);
      return true;
    }
  }
  return false;
}

// Each context rule fires once, so a chain of switches through context rules ends.
void RuleEngine::activate(PolicyStage& stage, RuleOutcome& out) {
  streak_.assign(active_policy().rules().size(), 0);
  const int member = active_;
  const std::vector<PolicyRule>& rules = active_policy().rules();
  for (size_t i = 0; i < rules.size(); ++i) {
    const PolicyRule& r = rules[i];
    if (r.when != RuleWhen::ContextHas || fired_[static_cast<size_t>(member)][i]) continue;
    if (!std::binary_search(context_tags_.begin(), context_tags_.end(), r.context_tag)) continue;
    fired_[static_cast<size_t>(member)][i] = 1;
    if (act(r, stage, out)) return;  // a switch activated the next policy already
  }
}

RuleOutcome RuleEngine::start(PolicyStage& stage) {
  if (&stage.policy() != &top_) fail("rules", "the policy stage does not decode under the rules' policy");
  RuleOutcome out;
  active_ = 0;
  activate(stage, out);
  return out;
}

RuleOutcome RuleEngine::observe(const RuleObservation& token, PolicyStage& stage) {
  RuleOutcome out;
  if (longest_text_ > 0) {
    if (window_.size() >= longest_text_) window_.erase(0, window_.size() - (longest_text_ - 1));
    window_.append(token.text.data(), token.text.size());
    new_bytes_ = token.text.size();
  }
  const int member = active_;
  const std::vector<PolicyRule>& rules = active_policy().rules();
  for (size_t i = 0; i < rules.size(); ++i) {
    const PolicyRule& r = rules[i];
    bool event = false;
    switch (r.when) {
      case RuleWhen::Temptation:
      case RuleWhen::Monitor: {
        double value = 0.0;
        bool read = false;
        if (r.when == RuleWhen::Temptation && token.temptation) {
          value = watched_temptation(*token.temptation, r.tags);
          read = true;
        }
        if (r.when == RuleWhen::Monitor && token.monitor)
          for (const auto& [name, v] : *token.monitor)
            if (name == r.watched) value = v, read = true;
        streak_[i] = read && value > r.above ? streak_[i] + 1 : 0;
        event = streak_[i] == r.for_tokens;  // once per run of tokens above the level
        break;
      }
      case RuleWhen::AfterTokens: event = token.generated >= r.after_tokens; break;
      case RuleWhen::EnterState: event = token.state_after == r.state && token.state_before != r.state; break;
      case RuleWhen::Text: event = text_appeared(r.watched); break;
      case RuleWhen::ContextHas: break;  // read when its policy becomes active
    }
    if (!event || (!r.repeat && fired_[static_cast<size_t>(member)][i])) continue;
    fired_[static_cast<size_t>(member)][i] = 1;
    if (act(r, stage, out)) break;
  }
  return out;
}

}  // namespace prealign
