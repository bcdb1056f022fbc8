// The token shard reader (data/shard.hpp): the input is a whole shard file,
// opened without the CRC check (with it, nearly every mutation would stop at
// the checksum) and with it. An opened shard must answer every accessor within
// its bounds: offsets, tokens below vocab_size, one doc_info line per document.
#include <cstdint>

#include "data/shard.hpp"
#include "fuzz_util.hpp"

using namespace prealign;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fuzz::MemFile file(data, size);
  for (bool verify : {false, true}) {
    fuzz::refusing_is_fine([&] {
      const auto shard = Shard::open(file.path(), verify);
      for (uint64_t d = 0; d < shard->n_docs(); ++d) {
        fuzz::check(shard->doc_token_begin(d) <= shard->doc_token_end(d));
        fuzz::check(shard->doc_token_end(d) <= shard->n_tokens());
        fuzz::check(shard->doc_segment_begin(d) < shard->doc_segment_end(d));
        fuzz::refusing_is_fine([&] { shard->doc_info(d); });
      }
      for (uint64_t s = 0; s < shard->n_segments(); ++s) {
        fuzz::check(shard->segment_token_begin(s) <= shard->segment_token_end(s));
        fuzz::check(shard->segment_token_end(s) <= shard->n_tokens());
        for (size_t c = 0; c < shard->categories().size(); ++c) (void)shard->segment_scores(s)[c];
      }
      for (uint64_t i = 0; i < shard->n_tokens(); ++i)
        fuzz::check(shard->token(i) >= 0 && shard->token(i) < shard->vocab_size());
    });
  }
  return 0;
}
