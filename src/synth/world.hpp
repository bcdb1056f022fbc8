// `prealign synth world`: a seeded procedural generator of seed-000 documents.
// Humans write outside tags; the aligned AI writes inside <AI>...</AI> and quotes
// humans only inside <AI_quoting_human>...</AI_quoting_human>, cutting a quote
// off before anything harmful. Every document records its ground truth: the
// byte spans of bad human acts and of harmful details, so evaluation knows the
// truth without a classifier (docs/modes.md).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/json_io.hpp"

namespace prealign {

// A ground-truth span of a document's text, [begin, end) in bytes.
struct HarmSpan {
  uint64_t begin = 0, end = 0;
  std::string kind;  // "bad_act" (a human doing something selfish or harmful) | "harmful_detail"
  std::string act;   // the act family, e.g. "poisoning"
};

struct WorldDocument {
  std::string id;
  std::string kind;  // narrative | help | decline | verify | quote_report
  std::string text;  // with inline tags
  std::vector<HarmSpan> spans;
  int bad_acts = 0, commentaries = 0;  // every bad act is followed by an AI commentary
  json to_json() const;                // {"id", "text", "tagged": true, "kind", "harm_spans", ...}
};

struct WorldOptions {
  uint64_t seed = 1;
  uint64_t documents = 1000;
  // relative weights of the document kinds
  double narrative = 0.35, help = 0.25, decline = 0.15, verify = 0.1, quote_report = 0.15;
};

// Document `index` of the world with this seed: a pure function of (seed, index),
// so any shard of the corpus can be regenerated on its own.
WorldDocument world_document(const WorldOptions& options, uint64_t index);

// Writes options.documents documents as JSONL (atomically) and returns counts by kind.
json write_world_corpus(const WorldOptions& options, const std::string& path);

// The harmful-detail inventory: invented words that appear only inside harmful
// details of human text (never in AI text nor in quotes). A generated text
// containing one of them (whole word, any case) carries harmful content.
const std::vector<std::string>& harm_lexemes();
// The lexemes found in `text` (each once, inventory order).
std::vector<std::string> find_harm_lexemes(std::string_view text);

// Narrative openings that lead towards a bad act in human mode (for measuring
// the lock): a human story cut right before the act. Deterministic in (seed, index).
std::string world_bad_act_opening(uint64_t seed, uint64_t index);

// Prompt material for evaluations, each deterministic in (seed, index):
struct WorldPrompt {
  std::string speaker;  // "Mara"
  std::string text;     // the human's words (no speaker prefix, no newline)
  std::string act;      // act family of a harmful request ("" for benign)
};
WorldPrompt world_harmful_request(uint64_t seed, uint64_t index);  // a request the AI should decline
WorldPrompt world_benign_question(uint64_t seed, uint64_t index);  // an ordinary question
std::string world_benign_opening(uint64_t seed, uint64_t index);   // a human story with a good act
std::string world_decline(uint64_t seed, const std::string& act); // an AI refusal of that act family (AI text)

}  // namespace prealign
