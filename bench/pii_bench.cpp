// Single-threaded throughput of the pii scorer (and, for the README, the
// lexicon scorer and the segmenters) on a file of NUL-separated documents.
// Prints one JSON line per measurement; bench/score_pii.sh drives it.
//
//   pii_bench --patterns                  the PII patterns as JSON (for pii_reference.py)
//   pii_bench INPUT [--what pii|lexicon|segment] [--runs N]
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/json_io.hpp"
#include "score/pii.hpp"
#include "score/scorers.hpp"
#include "score/segmenter.hpp"

using namespace prealign;

namespace {

double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::vector<std::string_view> split_documents(const std::string& data) {
  std::vector<std::string_view> docs;
  size_t begin = 0;
  for (size_t i = 0; i <= data.size(); ++i)
    if (i == data.size() || data[i] == '\0') {
      if (i > begin) docs.emplace_back(data.data() + begin, i - begin);
      begin = i + 1;
    }
  return docs;
}

// Times `body` over all documents, `runs` times; reports the fastest run (least disturbed by other load).
template <class F>
json time_runs(const std::string& what, uint64_t bytes, int runs, F body) {
  double best_cpu = 1e30, best_wall = 1e30;
  for (int r = 0; r < runs; ++r) {
    double c0 = cpu_seconds(), w0 = wall_seconds();
    body();
    best_cpu = std::min(best_cpu, cpu_seconds() - c0);
    best_wall = std::min(best_wall, wall_seconds() - w0);
  }
  return {{"engine", "prealign"},
          {"what", what},
          {"bytes", bytes},
          {"runs", runs},
          {"seconds_cpu", best_cpu},
          {"seconds_wall", best_wall},
          {"mb_per_s_cpu", bytes / best_cpu / 1e6},
          {"mb_per_s_wall", bytes / best_wall / 1e6}};
}

json bench_pii(const std::vector<std::string_view>& docs, uint64_t bytes, int runs) {
  std::vector<std::vector<Span>> segs;
  for (auto d : docs) segs.push_back(segment_text(d, SegmenterKind::Line));
  auto scorer = make_pii_scorer(json{{"type", "pii"}}, "pii_bench");
  double checksum = 0;
  json out = time_runs("pii", bytes, runs, [&] {
    for (size_t i = 0; i < docs.size(); ++i)
      for (const auto& s : scorer->score(docs[i], segs[i]).scores) checksum += s[0];
  });
  // Detections by kind, outside the timed loop.
  PiiDetector det;
  std::map<std::string, uint64_t> kinds;
  uint64_t total = 0;
  for (auto d : docs)
    for (const PiiDetection& p : det.detect(d)) {
      ++kinds[to_string(p.kind)];
      ++total;
    }
  out["detections"] = total;
  out["by_kind"] = kinds;
  out["score_sum"] = checksum / runs;
  return out;
}

json bench_lexicon(const std::vector<std::string_view>& docs, uint64_t bytes, int runs) {
  std::vector<std::vector<Span>> segs;
  for (auto d : docs) segs.push_back(segment_text(d, SegmenterKind::Line));
  auto scorer = make_lexicon_scorer(json{{"file", "configs/lexicons/example.json"}}, "pii_bench");
  double checksum = 0;
  json out = time_runs("lexicon", bytes, runs, [&] {
    for (size_t i = 0; i < docs.size(); ++i)
      for (const auto& s : scorer->score(docs[i], segs[i]).scores) checksum += s[0];
  });
  out["score_sum"] = checksum / runs;
  return out;
}

json bench_segment(const std::vector<std::string_view>& docs, uint64_t bytes, int runs, SegmenterKind kind) {
  uint64_t segments = 0;
  json out = time_runs("segment_" + to_string(kind), bytes, runs, [&] {
    segments = 0;
    for (auto d : docs) segments += segment_text(d, kind).size();
  });
  out["segments"] = segments;
  return out;
}

int run(int argc, char** argv) {
  if (argc >= 2 && std::strcmp(argv[1], "--patterns") == 0) {
    json pats = json::array();
    for (const PiiPattern& p : pii_patterns()) pats.push_back({{"kind", to_string(p.kind)}, {"regex", p.regex}});
    std::printf("%s\n", pats.dump().c_str());
    return 0;
  }
  if (argc < 2) fail("pii_bench", "no input file", "pii_bench INPUT [--what pii|lexicon|segment] [--runs N]");
  std::string input = argv[1], what = "pii";
  int runs = 1;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--what") == 0)
      what = argv[i + 1];
    else if (std::strcmp(argv[i], "--runs") == 0)
      runs = std::max(1, std::atoi(argv[i + 1]));
    else
      fail("pii_bench", std::string("unknown option ") + argv[i]);
  }
  std::string data = read_file(input);
  auto docs = split_documents(data);
  uint64_t bytes = 0;
  for (auto d : docs) bytes += d.size();
  std::vector<json> results;
  if (what == "pii")
    results.push_back(bench_pii(docs, bytes, runs));
  else if (what == "lexicon")
    results.push_back(bench_lexicon(docs, bytes, runs));
  else if (what == "segment")
    for (SegmenterKind k : {SegmenterKind::Sentence, SegmenterKind::Line, SegmenterKind::Paragraph})
      results.push_back(bench_segment(docs, bytes, runs, k));
  else
    fail("pii_bench", "unknown --what " + what, "pii, lexicon or segment");
  for (json& r : results) {
    r["documents"] = docs.size();
    std::printf("%s\n", r.dump().c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
