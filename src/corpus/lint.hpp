// The policy grammar as a checker: a tag sequence (a tagged corpus document, or
// a generated sample) walked through the policy's state machine, reporting
// every illegal transition with its byte offset, and statistics of the modes
// (bytes and tokens per state, quotes, quotes cut short, AI commentary).
// This is the one validator of the seed-000 grammar: `prealign lint`, the lock
// measurements and the decode tests all use it.
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/json_io.hpp"
#include "corpus/markup.hpp"
#include "tokenizer/tagset.hpp"

namespace prealign {

class Tokenizer;

// The parts of a policy JSON (docs/formats.md) that define its grammar, by tag
// name: independent of any vocabulary, so a corpus can be checked before a
// tokenizer exists. Tags the policy does not mention are illegal everywhere.
struct ModeGrammar {
  std::string name;
  std::vector<std::string> states;
  std::vector<std::map<std::string, int>> allow;  // per state: tag -> next state
  std::vector<bool> end_allowed;                  // per state: may a document end here
  int initial = 0;
  std::vector<std::string> start_tags;  // forced at generation start
  std::set<std::string> stop_tags;      // generation ends after one of these

  static ModeGrammar from_policy_json(const json& policy, const std::string& where);
  static ModeGrammar load(const std::string& path);
  int state_index(const std::string& name) const;  // -1 when unknown
  std::string allowed_list(int state) const;       // "<AI_quoting_human>, </AI>" for messages
};

struct LintViolation {
  std::string document;  // document id
  uint64_t offset = 0;   // byte offset in the document text
  std::string kind;      // illegal_tag | unclosed | malformed_tag | after_stop | missing_start
  std::string message;
};

struct LintOptions {
  bool require_end = true;  // the document must end in a state where end is allowed (false: truncated samples)
  bool generation = false;  // a sample: must begin with the start tags, nothing may follow a stop tag
  bool near_misses = true;  // report text that looks like a declared tag but is not one (<ai>, < /AI >)
};

// Running totals over documents; merge() adds another's.
struct ModeStats {
  uint64_t documents = 0, documents_with_violations = 0;
  std::map<std::string, uint64_t> bytes;   // per state name, text bytes (tags excluded)
  std::map<std::string, uint64_t> tokens;  // per state name, when a tokenizer is given
  std::map<std::string, uint64_t> tags;    // per tag name, occurrences
  uint64_t quotes = 0, quotes_cut_short = 0;
  uint64_t documents_with_ai = 0, documents_with_commentary = 0;
  uint64_t violations = 0;
  std::map<std::string, uint64_t> violations_by_kind;
  void merge(const ModeStats& other);
  ordered_json to_json() const;
};

// Walks `pieces` (from parse_markup, or built from generated tokens) through the
// grammar. Violations are appended to `violations`, totals added to `stats`.
// After an illegal tag the walk recovers so that one mistake is one violation
// (docs/modes.md "Recovery"): a close tag that belongs to an enclosing state
// closes the states inside it too; any other illegal tag is ignored, and if it
// opens a state, the close tag pairing with it is not reported again.
// `tokenizer`, if given, counts tokens per state.
void lint_pieces(const ModeGrammar& grammar, const std::vector<MarkupPiece>& pieces, const std::string& document,
                 const LintOptions& options, std::vector<LintViolation>& violations, ModeStats& stats,
                 const Tokenizer* tokenizer = nullptr);

// parse_markup + lint_pieces for one tagged text.
void lint_text(const ModeGrammar& grammar, const Tagset& tagset, const std::string& text, const std::string& document,
               const LintOptions& options, std::vector<LintViolation>& violations, ModeStats& stats,
               const Tokenizer* tokenizer = nullptr);

// A quote is cut short when its text ends in an ellipsis or a dash: the quoting
// AI stopped it before the harmful part (the seed's "…" before </AI_quoting_human>).
bool quote_is_cut_short(std::string_view quote_text);

}  // namespace prealign
