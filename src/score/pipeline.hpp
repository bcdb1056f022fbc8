// The streaming score run behind `prealign score`: corpus in, scored JSONL out.
//
//   reader thread  --(bounded queue of units)-->  worker threads  --(done map)-->  writer (caller's thread)
//
// The reader parses the inputs (corpus/reader.hpp) into units of a few
// documents; each worker owns clones of every scorer, segments and scores a
// unit and renders its output lines; the writer appends units in input order,
// so the output does not depend on the thread count. At most a few units are in
// flight: memory stays constant whatever the corpus size. The output appears at
// its path only when the run completes (AtomicFile), so a failed run never
// leaves a half-written file that looks complete. docs/scoring.md "Score runs".
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/json_io.hpp"
#include "score/segmenter.hpp"

namespace prealign {

// What to compute: the score.json file given to `prealign score --config`.
//   {"segmenter": "line", "scorers": [{"type": "pii"}, {"type": "pep8"}],
//    "thresholds": {"pii": 0}, "batch_documents": 64, "batch_bytes": 1048576}
struct ScoreConfig {
  SegmenterKind segmenter = SegmenterKind::Sentence;
  json scorers = json::array();              // scorer configs, each built with make_scorer
  std::map<std::string, double> thresholds;  // summary only: "over" means score > threshold (default 0)
  size_t batch_documents = 64;               // a unit of work ends after this many documents ...
  size_t batch_bytes = size_t(1) << 20;      // ... or this much text
  static ScoreConfig from_json(const json& j, const std::string& where);
  json to_json() const;
};

// How to run it: command-line flags of `prealign score` (one declaration each).
struct ScoreRunOptions {
  std::string out;              // scored JSONL to write ("-" = stdout, not atomic); flag -o, --out
  std::string format = "auto";  // auto | jsonl | text (corpus/reader.hpp)
  std::string glob = "*";
  std::string text_field = "text";
  std::string id_field = "id";
  std::string shard = "0/1";  // "i/n": score only records i, i+n, i+2n, ...
  int threads = 0;            // worker threads (0 = one per core)
  bool skip_bad = false;
  bool allow_nul = false;
  bool tagged = false;
  uint64_t max_line_bytes = uint64_t(16) << 20;
  std::string summary;  // also write the summary as JSON here
  bool quiet = false;

  template <class V>
  void visit(V& v) {
    v("format", format, "input format: auto (.jsonl/.jsonl.gz/.ndjson = JSONL, else text), jsonl, text");
    v("glob", glob, "for directory inputs: files whose relative path or name matches");
    v("text_field", text_field, "JSONL field holding the text");
    v("id_field", id_field, "JSONL field holding the document id");
    v("shard", shard, "i/n: score only records i, i+n, ... (records: JSONL lines, text files)");
    v("threads", threads, "scoring threads (0 = one per core)");
    v("skip_bad", skip_bad, "skip and count bad records and documents a scorer fails on, instead of stopping");
    v("allow_nul", allow_nul, "score texts containing NUL bytes (default: bad input)");
    v("tagged", tagged, "texts carry inline tag markup (trusted corpus)");
    v("max_line_bytes", max_line_bytes, "a longer line (JSONL record or line of a text) is bad input");
    v("summary", summary, "also write the run summary as JSON to this file");
    v("quiet", quiet, "no progress line and no message per skipped record (the summary still lists the first 20)");
  }
};

struct CategoryStats {
  uint64_t segments = 0, over = 0;  // segments scored, and those with score > threshold
  double sum = 0, max = 0, threshold = 0;
};

struct ScoreSummary {
  uint64_t documents = 0, segments = 0, bytes = 0;  // written to the output
  uint64_t bad_input = 0;                           // bad records skipped (reader and text checks)
  uint64_t score_errors = 0;                        // documents a scorer failed on, skipped
  uint64_t other_shards = 0;                        // records left to the other shards
  std::string shard = "0/1";
  std::vector<std::string> categories;  // every category of the output, sorted
  std::map<std::string, CategoryStats> stats;
  std::vector<std::string> first_errors;  // up to 20 messages
  json scorers = json::object();          // scorer name -> its report() (requests, forwarded, ...)
  double seconds = 0;
  ordered_json to_json() const;
};

// Scores `inputs` (files or directories) and writes options.out.
// Throws Error on bad input without skip_bad, or when a scorer fails for good.
ScoreSummary run_score(const std::vector<std::string>& inputs, const ScoreConfig& config,
                       const ScoreRunOptions& options);

std::string format_score_summary(const ScoreSummary& summary);  // the human table printed at the end

// The shortest decimal that reads back as the same float, as a JSON number
// (0.1f is written 0.1, not 0.10000000149011612).
json short_float(float x);

}  // namespace prealign
