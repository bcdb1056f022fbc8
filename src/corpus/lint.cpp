#include "corpus/lint.hpp"

#include <algorithm>
#include <cctype>
#include <deque>
#include <map>
#include <set>

#include "core/error.hpp"
#include "tokenizer/tokenizer.hpp"

namespace prealign {

ModeGrammar ModeGrammar::from_policy_json(const json& p, const std::string& where) {
  require(p.is_object(), where, "a policy must be a JSON object");
  ModeGrammar g;
  g.name = json_optional<std::string>(p, "name", "", where);
  const json& states = p.value("states", json::object());
  require(states.is_object() && !states.empty(), where, "policy has no \"states\" object");
  for (auto it = states.begin(); it != states.end(); ++it) g.states.push_back(it.key());
  g.allow.resize(g.states.size());
  g.end_allowed.resize(g.states.size());
  for (size_t s = 0; s < g.states.size(); ++s) {
    const json& st = states.at(g.states[s]);
    const std::string here = where + ": state \"" + g.states[s] + "\"";
    require(st.is_object(), here, "a state must be an object {\"allow\": {tag: state}, \"end\": bool}");
    g.end_allowed[s] = json_optional<bool>(st, "end", true, here);
    const json allow = st.value("allow", json::object());
    require(allow.is_object(), here, "\"allow\" must be an object of tag -> state");
    for (auto a = allow.begin(); a != allow.end(); ++a) {
      require(a.value().is_string(), here, "allow[\"" + a.key() + "\"] must name a state");
      int next = g.state_index(a.value().get<std::string>());
      require(next >= 0, here, "allow[\"" + a.key() + "\"] names unknown state \"" + a.value().get<std::string>() + "\"");
      g.allow[s][a.key()] = next;
    }
  }
  const std::string initial = json_optional<std::string>(p, "initial_state", g.states.front(), where);
  g.initial = g.state_index(initial);
  require(g.initial >= 0, where, "initial_state \"" + initial + "\" is not a state");
  if (p.contains("start")) g.start_tags = json_optional<std::vector<std::string>>(p["start"], "tags", {}, where);
  for (const auto& t : json_optional<std::vector<std::string>>(p, "stop_tags", {}, where)) g.stop_tags.insert(t);
  return g;
}

ModeGrammar ModeGrammar::load(const std::string& path) { return from_policy_json(read_json_file(path), path); }

int ModeGrammar::state_index(const std::string& n) const {
  auto it = std::find(states.begin(), states.end(), n);
  return it == states.end() ? -1 : static_cast<int>(it - states.begin());
}

std::string ModeGrammar::allowed_list(int state) const {
  std::string out;
  for (const auto& [tag, next] : allow[static_cast<size_t>(state)]) out += (out.empty() ? "" : ", ") + tag;
  return out.empty() ? "no tags" : out;
}

void ModeStats::merge(const ModeStats& o) {
  documents += o.documents;
  documents_with_violations += o.documents_with_violations;
  for (const auto& [k, v] : o.bytes) bytes[k] += v;
  for (const auto& [k, v] : o.tokens) tokens[k] += v;
  for (const auto& [k, v] : o.tags) tags[k] += v;
  quotes += o.quotes;
  quotes_cut_short += o.quotes_cut_short;
  documents_with_ai += o.documents_with_ai;
  documents_with_commentary += o.documents_with_commentary;
  violations += o.violations;
  for (const auto& [k, v] : o.violations_by_kind) violations_by_kind[k] += v;
}

ordered_json ModeStats::to_json() const {
  ordered_json j;
  j["documents"] = documents;
  j["documents_with_violations"] = documents_with_violations;
  j["violations"] = violations;
  j["violations_by_kind"] = violations_by_kind;
  j["bytes_by_state"] = bytes;
  if (!tokens.empty()) j["tokens_by_state"] = tokens;
  j["tags"] = tags;
  j["quotes"] = quotes;
  j["quotes_cut_short"] = quotes_cut_short;
  j["documents_with_ai"] = documents_with_ai;
  j["documents_with_commentary"] = documents_with_commentary;
  return j;
}

bool quote_is_cut_short(std::string_view q) {
  while (!q.empty() && (std::isspace(static_cast<unsigned char>(q.back())) || q.back() == '"')) q.remove_suffix(1);
  auto ends = [&](std::string_view s) { return q.size() >= s.size() && q.substr(q.size() - s.size()) == s; };
  return ends("\xE2\x80\xA6") || ends("...") || ends("\xE2\x80\x94") || ends("--") || ends("-");
}

namespace {

// Depth of each state from the initial one (0 = outside any tag, 1 = the
// speaker's own text, 2+ = text the speaker quotes); unreachable states get 1.
std::vector<int> state_depths(const ModeGrammar& g) {
  std::vector<int> depth(g.states.size(), -1);
  std::deque<int> todo{g.initial};
  depth[static_cast<size_t>(g.initial)] = 0;
  while (!todo.empty()) {
    int s = todo.front();
    todo.pop_front();
    for (const auto& [tag, next] : g.allow[static_cast<size_t>(s)])
      if (depth[static_cast<size_t>(next)] < 0) {
        depth[static_cast<size_t>(next)] = depth[static_cast<size_t>(s)] + 1;
        todo.push_back(next);
      }
  }
  for (int& d : depth)
    if (d < 0) d = 1;
  return depth;
}

std::vector<std::string> grammar_tag_names(const ModeGrammar& g) {
  std::set<std::string> names(g.stop_tags.begin(), g.stop_tags.end());
  names.insert(g.start_tags.begin(), g.start_tags.end());
  for (const auto& a : g.allow)
    for (const auto& [tag, next] : a) names.insert(tag);
  return {names.begin(), names.end()};
}

std::string squeeze_lower(std::string_view s) {
  std::string out;
  for (char c : s)
    if (!std::isspace(static_cast<unsigned char>(c))) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Text that a careless writer (or an LLM) meant as a tag but that is not one:
// "<ai>", "< /AI >", "</Ai_Quoting_Human>". Exact names never reach here (they
// are tag pieces); the check is a short <...> span equal to a name up to case and spaces.
void find_near_misses(std::string_view text, uint64_t base, const std::vector<std::string>& names,
                      const std::string& doc, std::vector<LintViolation>& out) {
  std::vector<std::string> lowered;
  for (const auto& n : names) lowered.push_back(squeeze_lower(n));
  for (size_t i = text.find('<'); i != std::string_view::npos; i = text.find('<', i + 1)) {
    size_t close = text.find('>', i);
    if (close == std::string_view::npos || close - i > 48) continue;
    std::string_view span = text.substr(i, close - i + 1);
    std::string squeezed = squeeze_lower(span);
    for (size_t k = 0; k < names.size(); ++k)
      if (squeezed == lowered[k])
        out.push_back({doc, base + i, "malformed_tag",
                       "\"" + std::string(span) + "\" looks like the tag " + names[k] +
                           " but is plain text (tags are matched exactly)"});
  }
}

// The walk through the grammar, with what recovery after an illegal tag needs
// (docs/modes.md "Recovery"): the states opened on the way here, and the close
// tags owed to illegal open tags that were ignored.
class GrammarWalk {
 public:
  GrammarWalk(const ModeGrammar& g, const std::vector<int>& depth) : g_(g), depth_(depth), state_(g.initial) {
    // An open tag's close tags: those that lead back from where it leads to where it was allowed.
    for (size_t s = 0; s < g.allow.size(); ++s)
      for (const auto& [tag, next] : g.allow[s])
        if (depth_at(next) > depth_at(static_cast<int>(s)))
          for (const auto& [close, back] : g.allow[static_cast<size_t>(next)])
            if (back == static_cast<int>(s)) closers_[tag].insert(close);
  }
  int state() const { return state_; }
  int depth() const { return depth_at(state_); }
  int depth_at(int s) const { return depth_[static_cast<size_t>(s)]; }

  // A legal transition to `next`, keeping the list of opened states.
  void enter(int next, uint64_t offset) {
    if (depth_at(next) > depth()) {
      opened_.push_back({state_, offset});
    } else if (depth_at(next) < depth()) {
      while (!opened_.empty() && depth_at(opened_.back().first) >= depth_at(next)) opened_.pop_back();
    }
    state_ = next;
  }
  uint64_t last_open_offset() const { return opened_.empty() ? 0 : opened_.back().second; }

  // After an illegal `tag`: true if it is the close owed to an ignored open tag
  // (then nothing is reported); otherwise applies the repair and returns false.
  // `note` receives what the repair did, for the message.
  bool recover(const std::string& tag, uint64_t offset, std::string& note) {
    if (auto owed = owed_.find(tag); owed != owed_.end() && owed->second > 0) {
      --owed->second;
      return true;
    }
    for (size_t i = opened_.size(); i-- > 0;) {  // a close tag that belongs further out
      const int outer = opened_[i].first;
      auto it = g_.allow[static_cast<size_t>(outer)].find(tag);
      if (it == g_.allow[static_cast<size_t>(outer)].end() || depth_at(it->second) >= depth_at(outer)) continue;
      note = "; taken as closing \"" + g_.states[static_cast<size_t>(state_)] + "\" too";
      opened_.resize(i);
      state_ = outer;
      enter(it->second, offset);
      return false;
    }
    if (auto c = closers_.find(tag); c != closers_.end()) {  // an open tag: its close will be owed
      for (const std::string& close : c->second) ++owed_[close];
      note = "; ignored, and so is the " + *c->second.begin() + " that pairs with it";
    }
    return false;
  }

 private:
  const ModeGrammar& g_;
  const std::vector<int>& depth_;
  int state_;
  std::vector<std::pair<int, uint64_t>> opened_;  // (state before, offset) of each deeper transition
  std::map<std::string, std::set<std::string>> closers_;
  std::map<std::string, int> owed_;
};

}  // namespace

void lint_pieces(const ModeGrammar& g, const std::vector<MarkupPiece>& pieces, const std::string& doc,
                 const LintOptions& o, std::vector<LintViolation>& violations, ModeStats& stats,
                 const Tokenizer* tokenizer) {
  const std::vector<int> depth = state_depths(g);
  const std::vector<std::string> names = o.near_misses ? grammar_tag_names(g) : std::vector<std::string>{};
  const size_t first_violation = violations.size();
  GrammarWalk walk(g, depth);
  bool seen_outside_text = false, has_ai = false, has_commentary = false, stopped = false;
  std::string quote;  // text of the open quote
  size_t start_matched = 0;
  auto violate = [&](uint64_t off, const std::string& kind, const std::string& msg) {
    violations.push_back({doc, off, kind, msg});
  };
  for (const MarkupPiece& p : pieces) {
    if (stopped) {
      violate(p.offset, "after_stop", "generation continued after a stop tag");
      break;
    }
    if (o.generation && start_matched < g.start_tags.size()) {
      if (!p.is_tag || p.text != g.start_tags[start_matched]) {
        violate(p.offset, "missing_start", "a sample must begin with the start tag " + g.start_tags[start_matched]);
        start_matched = g.start_tags.size();
      } else {
        ++start_matched;
      }
    }
    const int state = walk.state();
    const std::string& state_name = g.states[static_cast<size_t>(state)];
    if (!p.is_tag) {
      stats.bytes[state_name] += p.text.size();
      if (tokenizer) stats.tokens[state_name] += tokenizer->encode(p.text).size();
      const bool blank = std::all_of(p.text.begin(), p.text.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
      if (walk.depth() == 0 && !blank) seen_outside_text = true;
      if (walk.depth() >= 2) quote += p.text;
      if (o.near_misses) find_near_misses(p.text, p.offset, names, doc, violations);
      continue;
    }
    ++stats.tags[p.text];
    const auto& allowed = g.allow[static_cast<size_t>(state)];
    auto it = allowed.find(p.text);
    if (it == allowed.end()) {
      const std::string message = p.text + " in state \"" + state_name + "\" (allowed here: " + g.allowed_list(state) + ")";
      std::string note;
      const int depth_before = walk.depth();
      if (!walk.recover(p.text, p.offset, note)) violate(p.offset, "illegal_tag", message + note);
      if (depth_before >= 2 && walk.depth() < 2) {  // the repair closed a quote
        ++stats.quotes;
        stats.quotes_cut_short += quote_is_cut_short(quote);
        quote.clear();
      }
      continue;
    }
    const int next = it->second;
    if (walk.depth() >= 2 && walk.depth_at(next) < 2) {
      ++stats.quotes;
      stats.quotes_cut_short += quote_is_cut_short(quote);
      quote.clear();
    }
    if (walk.depth_at(next) == 1 && walk.depth() == 0) {
      has_ai = true;
      has_commentary = has_commentary || seen_outside_text;
    }
    walk.enter(next, p.offset);
    if (o.generation && g.stop_tags.count(p.text)) stopped = true;
  }
  const int end_state = walk.state();
  if (o.require_end && !stopped && !g.end_allowed[static_cast<size_t>(end_state)]) {
    const uint64_t end = pieces.empty() ? 0 : pieces.back().offset + pieces.back().text.size();
    violate(end, "unclosed",
            "document ends in state \"" + g.states[static_cast<size_t>(end_state)] + "\" (opened at byte " +
                std::to_string(walk.last_open_offset()) + "); close it with " + g.allowed_list(end_state));
  }
  ++stats.documents;
  stats.documents_with_ai += has_ai;
  stats.documents_with_commentary += has_commentary;
  const size_t found = violations.size() - first_violation;
  stats.violations += found;
  stats.documents_with_violations += found > 0;
  for (size_t i = first_violation; i < violations.size(); ++i) ++stats.violations_by_kind[violations[i].kind];
}

void lint_text(const ModeGrammar& g, const Tagset& tagset, const std::string& text, const std::string& doc,
               const LintOptions& o, std::vector<LintViolation>& violations, ModeStats& stats,
               const Tokenizer* tokenizer) {
  lint_pieces(g, parse_markup(text, tagset), doc, o, violations, stats, tokenizer);
}

}  // namespace prealign
