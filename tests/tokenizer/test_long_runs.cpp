// A run of text without a word break is encoded in pieces of at most
// Tokenizer::kMaxRunBytes: SentencePiece needed ~250 bytes of memory per byte
// of one input (a 50 MB line of "A"s: 12 GB). The text still round-trips, the
// pieces are SentencePiece's own encodings of the cut run, and memory stays flat.
#include <sentencepiece_processor.h>

#include "fixture.hpp"

namespace prealign {
namespace {

using testing::trained;

class LongRuns : public ::testing::TestWithParam<std::string> {
 protected:
  const Tokenizer& tok() { return trained(GetParam()); }
};

// SentencePiece (directly, as a reference) on each piece of the run, cut where
// the documented rule cuts: every kMaxRunBytes bytes, moved back off UTF-8
// continuation bytes.
std::vector<int> reference_encoding(const std::string& run, const std::string& model) {
  sentencepiece::SentencePieceProcessor sp;
  EXPECT_TRUE(sp.LoadFromSerializedProto(model).ok());
  std::vector<int> out;
  size_t start = 0;
  while (start < run.size()) {
    size_t cut = std::min(run.size(), start + Tokenizer::kMaxRunBytes);
    while (cut < run.size() && cut > start && (static_cast<unsigned char>(run[cut]) & 0xC0) == 0x80) --cut;
    std::vector<int> ids;
    EXPECT_TRUE(sp.Encode(run.substr(start, cut - start), &ids).ok());
    out.insert(out.end(), ids.begin(), ids.end());
    start = cut;
  }
  return out;
}

TEST_P(LongRuns, LongRunsAreEncodedInBoundedPieces) {
  // ASCII, and three-byte characters whose cut points fall inside a character
  for (const std::string& unit : {std::string("A"), std::string("xyz"), std::string("\xE4\xB8\xAD")}) {
    std::string run;
    while (run.size() < 3 * Tokenizer::kMaxRunBytes + 100) run += unit;
    const std::vector<int> ids = tok().encode(run);
    EXPECT_EQ(tok().decode(ids), run);
    if (GetParam() == "bpe") EXPECT_EQ(ids, reference_encoding(run, tok().serialized_model())) << unit;
    // a short run is untouched: SentencePiece on the whole of it
    const std::string short_run = run.substr(0, 300);
    EXPECT_EQ(tok().encode(short_run), reference_encoding(short_run, tok().serialized_model()));
  }
}

TEST_P(LongRuns, MemoryStaysFlatOnALineWithoutSpaces) {
  const std::string line(4u << 20, 'A');  // 4 MB: about 1 GB of peak memory before the fix
  const uint64_t before = testing::reset_peak_rss();
  const std::vector<int> ids = tok().encode(line);
  const uint64_t peak = testing::peak_rss() - before;
  EXPECT_EQ(tok().decode(ids), line);
  EXPECT_LT(peak, uint64_t(64) << 20) << "peak " << (peak >> 20) << " MB for a 4 MB line";
}

INSTANTIATE_TEST_SUITE_P(Models, LongRuns, ::testing::Values("bpe", "unigram"));

}  // namespace
}  // namespace prealign
