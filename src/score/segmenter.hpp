// Segmenters cut a document into the units that get scored: sentences (prose),
// lines (code), paragraphs, or the whole document. Segments are byte ranges
// that cover the text exactly: concatenating them gives the document back.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace prealign {

struct Span {
  uint64_t begin = 0, end = 0;  // byte offsets, [begin, end)
};

enum class SegmenterKind { Sentence, Line, Paragraph, Document };

SegmenterKind parse_segmenter(const std::string& name, const std::string& where);  // Error for unknown names
std::string to_string(SegmenterKind k);

// Segments of `text`; never empty for non-empty text; spans are contiguous and non-empty.
std::vector<Span> segment_text(std::string_view text, SegmenterKind kind);

// Index of the segment containing byte `offset` in sorted, contiguous spans (an
// offset at or past the end maps to the last segment). Scorers attribute a
// detection to the segment holding its first byte.
size_t segment_index(const std::vector<Span>& segments, uint64_t offset);

// True if spans are in order, non-overlapping and inside [0, text_size].
bool spans_valid(const std::vector<Span>& segments, uint64_t text_size);

}  // namespace prealign
