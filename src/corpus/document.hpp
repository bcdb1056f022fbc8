// A document as it flows from readers to the tokenizer: its text, and the
// scored segments that cover it (the schema of scored JSONL, docs/formats.md).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/json_io.hpp"

namespace prealign {

struct Segment {
  uint64_t begin = 0, end = 0;  // byte offsets into Document::text, [begin, end)
  std::vector<float> scores;    // one per Document::categories entry; higher = worse
};

struct Document {
  std::string id;
  std::string text;
  std::vector<std::string> categories;  // score categories, in the order of Segment::scores
  std::vector<Segment> segments;        // cover text exactly, in order; may be empty (= one unscored segment)
  json meta = json::object();           // any other fields of the input record
  bool tagged = false;                  // text carries inline tag markup (trusted corpus)
  std::string where;                    // "file:line" of the record, for errors
};

// Parses one scored-JSONL record: {"id", "text", "segments": [{"start","end","scores":{cat: x}}], ...}.
// Errors name `where`; checks offsets are in range, ordered, on UTF-8 boundaries and cover the text.
Document document_from_json(const json& record, const std::string& where);
// The same with other names for the text and id fields (a missing id becomes `where`).
Document document_from_json(const json& record, const std::string& where, const std::string& text_field,
                            const std::string& id_field);
json document_to_json(const Document& doc);

// Returns segments covering the whole text: doc.segments if present, else one unscored segment.
std::vector<Segment> covering_segments(const Document& doc);

}  // namespace prealign
