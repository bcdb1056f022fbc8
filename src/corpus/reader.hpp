// Reads corpora: JSONL records, plain text files, or directory trees filtered by
// a glob. Every problem is reported with file and line; with skip_bad the record
// is counted and skipped instead of stopping the run.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "corpus/document.hpp"

namespace prealign {

struct CorpusReadOptions {
  std::string glob = "*";       // for directories: files whose relative path or name matches
  std::string format = "auto";  // auto (by extension: .jsonl/.jsonl.gz = JSONL, else text) | jsonl | text
  bool skip_bad = false;        // count and skip bad records instead of failing
  bool tagged = false;          // texts carry inline tag markup (trusted corpus)
  std::string text_field = "text";
  std::string id_field = "id";
  size_t max_line_bytes = size_t(64) << 20;  // a longer JSONL line is a bad record (skipped with skip_bad)
  // A longer text file (one document) is a bad record too; it is read no further
  // than this, so a huge or sparse file costs bounded memory and time.
  size_t max_text_file_bytes = size_t(64) << 20;
  // Sharding for job arrays: records (non-blank JSONL lines, whole text files) are
  // numbered across the inputs from `record_base`; only those with number %
  // shard_count == shard_index are parsed and delivered, the others are counted in
  // CorpusReadStats::other_shards unread, so each bad record is reported by one shard.
  uint64_t shard_index = 0, shard_count = 1, record_base = 0;
  // Called after each record with the bytes of the current file consumed so far
  // (compressed bytes for gzip), for progress bars; may be empty.
  std::function<void(uint64_t)> on_progress;
};

struct CorpusReadStats {
  // documents/bytes: delivered to the sink (bytes of text); skipped: bad records
  // and unreadable files passed over with skip_bad; empty: those of them that were empty.
  uint64_t documents = 0, bytes = 0, skipped = 0, empty = 0;
  uint64_t records = 0, other_shards = 0;  // records seen (this shard's and others'), others' left unread
  uint64_t untrusted_tagged = 0;           // records saying "tagged": true read without --tagged (as text)
  std::vector<std::string> first_errors;   // up to 20 messages, for the summary
};

// "i/n" (a job array's part: 0 <= i < n) -> {i, n}; Error naming `where` otherwise.
std::pair<uint64_t, uint64_t> parse_shard(const std::string& text, const std::string& where);

// Calls `sink` for every good document of every input, in input order.
// Empty documents are bad input (an Error, or skipped and counted with skip_bad).
CorpusReadStats read_corpus(const std::vector<std::string>& inputs, const CorpusReadOptions& options,
                            const std::function<void(Document&&)>& sink);

// Whether read_corpus reads `path` as JSONL under `format` (auto: by extension).
bool is_jsonl_input(const std::string& path, const std::string& format);

// The file list read_corpus would visit: explicit files as given, directories
// walked recursively (files matching `glob`, hidden files and directories
// skipped), each directory's files sorted; deterministic. A missing input, or a
// directory where nothing matches, is an Error.
std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs, const std::string& glob);

}  // namespace prealign
