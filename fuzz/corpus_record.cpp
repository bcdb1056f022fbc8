// The corpus JSONL record reader (corpus/reader.hpp, corpus/document.hpp): the
// input is a whole JSONL file, read as `score` and `tokenize` read it, with
// --skip-bad (every record) or without (up to the first bad one). Every
// delivered document must satisfy what readers promise: valid UTF-8, segments
// contiguous from 0 to the end on character boundaries, one score per category.
#include <cstdint>

#include "core/utf8.hpp"
#include "corpus/reader.hpp"
#include "fuzz_util.hpp"

using namespace prealign;

namespace {

void check_document(const Document& d) {
  fuzz::check(!d.text.empty() && is_valid_utf8(d.text));
  uint64_t pos = 0;
  for (const Segment& s : d.segments) {
    fuzz::check(s.begin == pos && s.end > s.begin && s.end <= d.text.size());
    fuzz::check(s.scores.size() == d.categories.size());
    pos = s.end;
  }
  fuzz::check(d.segments.empty() || pos == d.text.size());
  // what a reader writes back reads the same
  const Document again = document_from_json(document_to_json(d), "again");
  fuzz::check(again.text == d.text && again.segments.size() == d.segments.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fuzz::MemFile file(data, size);
  CorpusReadOptions o;
  o.format = "jsonl";
  // One read per input (each costs the reader's 256 KiB buffers, which ASan
  // maps afresh): inputs of odd length are read with --skip-bad.
  o.skip_bad = size % 2 == 1;
  o.max_line_bytes = 4096;  // small, so that the over-long-line path is reached too
  fuzz::refusing_is_fine([&] {
    const CorpusReadStats st = read_corpus({file.path()}, o, check_document);
    fuzz::check(st.documents + st.skipped <= st.records);
  });
  return 0;
}
