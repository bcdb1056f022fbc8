// The trusted markup parser (corpus/markup.hpp) and the grammar check run on
// its output (corpus/lint.hpp, including the recovery after illegal tags).
// Pieces must tile the text exactly, tags must be declared names, violations
// must point inside the text.
#include <cstdint>
#include <string>

#include "corpus/lint.hpp"
#include "corpus/markup.hpp"
#include "fuzz_util.hpp"

using namespace prealign;

namespace {

const Tagset& tags() {
  static const Tagset t = Tagset::from_json(json::parse(R"({"name": "fuzz", "tags": [
      {"name": "<|good|>", "category": "alignment"}, {"name": "<|bad|>", "category": "alignment"},
      {"name": "<AI>", "category": "mode", "kind": "open", "pair": "</AI>"},
      {"name": "</AI>", "category": "mode", "kind": "close", "pair": "<AI>"},
      {"name": "<AI_quoting_human>", "category": "mode", "kind": "open", "pair": "</AI_quoting_human>"},
      {"name": "</AI_quoting_human>", "category": "mode", "kind": "close", "pair": "<AI_quoting_human>"}]})"),
                                                "fuzz tagset");
  return t;
}

const ModeGrammar& grammar() {
  static const ModeGrammar g = ModeGrammar::from_policy_json(json::parse(R"({"name": "ai_mode",
      "initial_state": "human", "start": {"tags": ["<AI>"]}, "stop_tags": ["</AI>"],
      "states": {"human": {"allow": {"<AI>": "ai"}, "end": true},
                 "ai": {"allow": {"<AI_quoting_human>": "quoted", "</AI>": "human"}, "end": false},
                 "quoted": {"allow": {"</AI_quoting_human>": "ai"}, "end": false}}})"),
                                                             "fuzz policy");
  return g;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::vector<MarkupPiece> pieces = parse_markup(text, tags());
  std::string joined;
  for (const MarkupPiece& p : pieces) {
    fuzz::check(p.offset == joined.size() && !p.text.empty());
    fuzz::check(!p.is_tag || tags().find(p.text) != nullptr);
    joined += p.text;
  }
  fuzz::check(joined == text);
  for (bool generation : {false, true}) {
    LintOptions o;
    o.generation = generation;
    std::vector<LintViolation> violations;
    ModeStats stats;
    lint_pieces(grammar(), pieces, "fuzz", o, violations, stats);
    for (const LintViolation& v : violations) fuzz::check(v.offset <= text.size());
    fuzz::check(stats.violations == violations.size());
  }
  return 0;
}
