#include "score/pipeline.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "core/error.hpp"
#include "core/files.hpp"
#include "core/lines.hpp"
#include "core/progress.hpp"
#include "corpus/reader.hpp"
#include "score/scorer.hpp"

namespace prealign {

namespace {

// A document that cannot be written: bad input, or a scorer failed on it.
struct DocError {
  std::string where, what, hint;
  bool input = true;  // bad input (vs. a scorer failure)
};

// One unit of work: documents in input order, and what the workers made of them.
struct Work {
  uint64_t seq = 0;
  uint64_t position = 0;  // progress estimate (input bytes) after this unit
  std::vector<Document> docs;
  std::vector<bool> from_text_file;                 // the document is a whole text file (its lines are file lines)
  std::vector<std::string> lines;                   // output records, in order
  std::vector<std::pair<size_t, DocError>> errors;  // (document index, error)
  uint64_t segments = 0, bytes = 0;
  std::vector<CategoryStats> stats;  // per summary category
};

struct Aborted {};  // unwinds the reader when another thread failed

// "file:line" of byte `offset` of a document (for text files the document's
// lines are the file's; for JSONL records the record's location plus the text line).
std::string where_in(const Document& doc, bool text_file, uint64_t offset) {
  long long line = 1 + std::count(doc.text.begin(), doc.text.begin() + static_cast<long>(offset), '\n');
  if (text_file) return at(doc.where, line);
  return doc.where + " (line " + std::to_string(line) + " of the text)";
}

// NUL bytes and over-long lines: checked here because plain-text inputs reach us whole.
bool check_text(const Document& doc, bool text_file, const ScoreRunOptions& o, DocError& err) {
  const std::string& t = doc.text;
  if (!o.allow_nul) {
    const void* nul = std::memchr(t.data(), 0, t.size());
    if (nul) {
      uint64_t at_byte = static_cast<uint64_t>(static_cast<const char*>(nul) - t.data());
      err = {where_in(doc, text_file, at_byte), "NUL byte at byte " + std::to_string(at_byte) + " of the text",
             "a binary file? narrow --glob, pass --skip-bad to skip it, or --allow-nul to score it"};
      return false;
    }
  }
  uint64_t begin = 0;
  while (begin <= t.size()) {
    size_t nl = t.find('\n', begin);
    uint64_t end = nl == std::string::npos ? t.size() : nl;
    if (end - begin > o.max_line_bytes) {
      err = {where_in(doc, text_file, begin),
             "line of " + std::to_string(end - begin) + " bytes (limit --max-line-bytes " +
                 std::to_string(o.max_line_bytes) + ")",
             "minified or generated? pass --skip-bad to skip it, or raise --max-line-bytes"};
      return false;
    }
    if (nl == std::string::npos) break;
    begin = nl + 1;
  }
  return true;
}

// Scores of one document by category name, for every segment.
using CategoryScores = std::map<std::string, std::vector<float>>;

// JSON string escaping for output lines (texts are valid UTF-8, written as is);
// runs of plain bytes are copied whole, since texts are most of the output.
void append_json_string(std::string& out, std::string_view s) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 15];
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

template <class T>
void append_number(std::string& out, T x) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, x);  // floats: the shortest text that reads back the same
  out.append(buf, r.ptr);
}

// One scored-JSONL record (docs/formats.md), written by hand: building it as a
// json object cost ~20x the PII scan itself (an allocation per segment and score).
std::string record_line(const Document& doc, const std::vector<Span>& spans, const CategoryScores& scores,
                        const json& details) {
  std::string out;
  out.reserve(doc.text.size() + doc.id.size() + spans.size() * (40 + 16 * scores.size()) + 64);
  out += "{\"id\":";
  append_json_string(out, doc.id);
  out += ",\"text\":";
  append_json_string(out, doc.text);
  std::vector<std::string> keys;  // "\"pii\":"
  for (const auto& [cat, v] : scores) {
    keys.emplace_back();
    append_json_string(keys.back(), cat);
    keys.back() += ':';
  }
  out += ",\"segments\":[";
  for (size_t s = 0; s < spans.size(); ++s) {
    out += s ? ",{\"start\":" : "{\"start\":";
    append_number(out, spans[s].begin);
    out += ",\"end\":";
    append_number(out, spans[s].end);
    out += ",\"scores\":{";
    size_t c = 0;
    for (const auto& [cat, v] : scores) {
      if (c) out += ',';
      out += keys[c++];
      append_number(out, v[s]);
    }
    out += "}}";
  }
  out += ']';
  if (doc.tagged) out += ",\"tagged\":true";
  json meta = doc.meta;
  meta.erase("details");  // a re-scored record's old details: merged into `details` below
  if (!meta.empty()) out += ",\"meta\":" + meta.dump(-1, ' ', false, json::error_handler_t::strict);
  if (!details.empty()) out += ",\"details\":" + details.dump(-1, ' ', false, json::error_handler_t::strict);
  out += '}';
  return out;
}

// Everything one worker thread owns.
struct WorkerScorers {
  std::vector<std::unique_ptr<Scorer>> scorers;
};

// What a unit's documents become inside a worker.
struct UnitScores {
  std::vector<std::vector<Span>> spans;
  std::vector<CategoryScores> scores;
  std::vector<json> details;
  std::vector<size_t> good;  // documents that passed the checks
  std::vector<bool> failed;  // ... and then failed in a scorer
};

// Checks each document's text and finds its segments; carries over the
// categories and details of records that were scored before.
void prepare(Work& w, const ScoreConfig& cfg, const ScoreRunOptions& o, UnitScores& u) {
  const size_t D = w.docs.size();
  u.spans.assign(D, {});
  u.scores.assign(D, {});
  u.details.assign(D, json::object());
  u.failed.assign(D, false);
  for (size_t d = 0; d < D; ++d) {
    DocError err;
    if (!check_text(w.docs[d], w.from_text_file[d], o, err)) {
      w.errors.push_back({d, err});
      continue;
    }
    const Document& doc = w.docs[d];
    if (doc.segments.empty()) {
      u.spans[d] = segment_text(doc.text, cfg.segmenter);
    } else {  // a scored record keeps its segments (docs/scoring.md "Score runs")
      for (const Segment& s : doc.segments) u.spans[d].push_back({s.begin, s.end});
    }
    for (size_t c = 0; c < doc.categories.size(); ++c) {  // the configured ones are recomputed
      auto& v = u.scores[d][doc.categories[c]];
      for (const Segment& s : doc.segments) v.push_back(s.scores[c]);
    }
    if (doc.meta.contains("details") && doc.meta["details"].is_object()) u.details[d] = doc.meta["details"];
    u.good.push_back(d);
  }
}

// Runs one scorer over the unit's documents still in the running (batched).
void run_scorer(Scorer& scorer, Work& w, UnitScores& u) {
  std::vector<size_t> idx;
  std::vector<std::string_view> texts;
  std::vector<std::vector<Span>> seg;
  for (size_t d : u.good)
    if (!u.failed[d]) {
      idx.push_back(d);
      texts.push_back(w.docs[d].text);
      seg.push_back(u.spans[d]);
    }
  std::vector<std::string> errors;
  std::vector<ScoreResult> res = scorer.score_batch(texts, seg, errors);
  const auto cats = scorer.categories();
  for (size_t k = 0; k < idx.size(); ++k) {
    const size_t d = idx[k];
    if (errors[k].empty() && res[k].scores.size() != seg[k].size())
      errors[k] = "returned " + std::to_string(res[k].scores.size()) + " scores for " + std::to_string(seg[k].size()) +
                  " segments";
    if (!errors[k].empty()) {  // never written with made-up scores
      u.failed[d] = true;
      w.errors.push_back({d,
                          {w.docs[d].where, "scorer \"" + scorer.name() + "\" failed: " + errors[k],
                           "pass --skip-bad to skip documents a scorer fails on", false}});
      continue;
    }
    for (size_t c = 0; c < cats.size(); ++c) {
      auto& v = u.scores[d][cats[c]];
      v.assign(seg[k].size(), 0.f);
      for (size_t s = 0; s < seg[k].size(); ++s) v[s] = res[k].scores[s].at(c);
    }
    if (!res[k].details.is_null() && !res[k].details.empty()) u.details[d][scorer.name()] = res[k].details;
  }
}

void add_category_stats(const std::vector<float>& values, double threshold, CategoryStats& st) {
  st.threshold = threshold;
  for (float x : values) {
    ++st.segments;
    st.over += x > threshold;
    st.sum += x;
    st.max = std::max<double>(st.max, x);
  }
}

// Checks, segments and scores a unit and renders its output lines.
void process(Work& w, WorkerScorers& ws, const ScoreConfig& cfg, const ScoreRunOptions& o,
             const std::vector<std::string>& summary_cats) {
  UnitScores u;
  prepare(w, cfg, o, u);
  for (auto& scorer : ws.scorers) run_scorer(*scorer, w, u);
  w.stats.assign(summary_cats.size(), CategoryStats{});
  for (size_t d : u.good) {
    if (u.failed[d]) continue;
    w.lines.push_back(record_line(w.docs[d], u.spans[d], u.scores[d], u.details[d]));
    w.segments += u.spans[d].size();
    w.bytes += w.docs[d].text.size();
    for (size_t c = 0; c < summary_cats.size(); ++c) {
      auto t = cfg.thresholds.find(summary_cats[c]);
      add_category_stats(u.scores[d][summary_cats[c]], t == cfg.thresholds.end() ? 0.0 : t->second, w.stats[c]);
    }
  }
  std::sort(w.errors.begin(), w.errors.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  w.docs.clear();  // the texts are in the output lines now
  w.docs.shrink_to_fit();
}

}  // namespace

namespace {

// State shared by the reader, the workers and the writer. Units of work are
// read at most `max_in_flight` ahead of the writer: constant memory.
struct Shared {
  std::mutex m;
  std::condition_variable cv;
  std::deque<Work> todo;
  std::map<uint64_t, Work> done;
  uint64_t read_units = 0;  // units handed out by the reader
  uint64_t written_units = 0;
  size_t max_in_flight = 4;
  bool reader_done = false;
  bool abort = false;
  uint64_t reader_bad = 0, other_shards = 0;  // bad records the reader skipped; records of other shards
  std::vector<std::string> reader_errors;     // their messages, not yet reported by the writer
  std::exception_ptr error;

  void fail_with(std::exception_ptr e) {
    std::lock_guard<std::mutex> lock(m);
    if (!error) error = e;
    abort = true;
    cv.notify_all();
  }
};

// Reads the inputs into units of work. Bad records found by the reader (and
// empty files) are handed to the writer as messages, so they are reported in
// one place; without skip_bad the reader's Error ends the run.
class Reader {
 public:
  Reader(Shared& sh, const ScoreConfig& cfg, const ScoreRunOptions& o, std::vector<std::string> files,
         std::pair<uint64_t, uint64_t> shard)
      : sh_(sh), cfg_(cfg), o_(o), files_(std::move(files)), shard_(shard) {}

  void run() {
    CorpusReadOptions ro;
    ro.format = o_.format;
    ro.skip_bad = o_.skip_bad;
    ro.tagged = o_.tagged;
    ro.text_field = o_.text_field;
    ro.id_field = o_.id_field;
    ro.max_line_bytes = static_cast<size_t>(o_.max_line_bytes);
    ro.shard_index = shard_.first;
    ro.shard_count = shard_.second;
    uint64_t file_start = 0;
    for (size_t k = 0; k < files_.size(); ++k) {
      const std::string& f = files_[k];
      const uint64_t size = file_size(f);
      const bool text_file = !is_jsonl_input(f, o_.format);
      ro.on_progress = [&](uint64_t consumed) { position_ = file_start + std::min(consumed, size); };
      CorpusReadStats st = read_corpus({f}, ro, [&](Document&& doc) {
        unit_bytes_ += doc.text.size();
        unit_.docs.push_back(std::move(doc));
        unit_.from_text_file.push_back(text_file);
        unit_.position = position_;
        if (unit_.docs.size() >= cfg_.batch_documents || unit_bytes_ >= cfg_.batch_bytes) push();
      });
      ro.record_base += st.records;
      other_shards_ += st.other_shards;
      std::vector<std::string> errors = std::move(st.first_errors);
      uint64_t bad = st.skipped;
      // An empty file (no records at all) is bad input too; the shard owning its
      // position in the file list reports it, so a job array counts it once.
      if (st.records == 0 && k % shard_.second == shard_.first) {
        Error e(f, "empty file (no records)", "remove it from the inputs, or pass --skip-bad to skip it");
        if (!o_.skip_bad) throw e;
        ++bad;
        errors.push_back(e.what());
      }
      file_start += size;
      position_ = file_start;
      unit_.position = position_;
      report(bad, std::move(errors));
    }
    if (!unit_.docs.empty()) push();
    std::lock_guard<std::mutex> lock(sh_.m);
    sh_.other_shards = other_shards_;
    sh_.reader_done = true;
    sh_.cv.notify_all();
  }

 private:
  void report(uint64_t bad, std::vector<std::string> errors) {
    if (bad == 0 && errors.empty()) return;
    std::lock_guard<std::mutex> lock(sh_.m);
    sh_.reader_bad += bad;
    for (auto& e : errors) sh_.reader_errors.push_back(std::move(e));
    sh_.cv.notify_all();
  }

  void push() {
    std::unique_lock<std::mutex> lock(sh_.m);
    sh_.cv.wait(lock, [&] { return sh_.abort || sh_.read_units - sh_.written_units < sh_.max_in_flight; });
    if (sh_.abort) throw Aborted{};
    unit_.seq = sh_.read_units++;
    sh_.todo.push_back(std::move(unit_));
    sh_.cv.notify_all();
    unit_ = Work{};
    unit_.position = position_;
    unit_bytes_ = 0;
  }

  Shared& sh_;
  const ScoreConfig& cfg_;
  const ScoreRunOptions& o_;
  std::vector<std::string> files_;
  std::pair<uint64_t, uint64_t> shard_;
  Work unit_;
  uint64_t unit_bytes_ = 0, position_ = 0, other_shards_ = 0;
};

void worker_loop(Shared& sh, WorkerScorers& ws, const ScoreConfig& cfg, const ScoreRunOptions& o,
                 const std::vector<std::string>& cats) {
  try {
    for (;;) {
      Work w;
      {
        std::unique_lock<std::mutex> lock(sh.m);
        sh.cv.wait(lock, [&] { return sh.abort || !sh.todo.empty() || sh.reader_done; });
        if (sh.abort || (sh.todo.empty() && sh.reader_done)) return;
        w = std::move(sh.todo.front());
        sh.todo.pop_front();
      }
      process(w, ws, cfg, o, cats);
      std::lock_guard<std::mutex> lock(sh.m);
      sh.done.emplace(w.seq, std::move(w));
      sh.cv.notify_all();
    }
  } catch (...) {
    sh.fail_with(std::current_exception());
  }
}

// Stops and joins every thread, whichever way run_score leaves.
struct ThreadGuard {
  Shared& sh;
  std::vector<std::thread> threads;
  ~ThreadGuard() {
    {
      std::lock_guard<std::mutex> lock(sh.m);
      sh.abort = true;
      sh.cv.notify_all();
    }
    for (auto& t : threads)
      if (t.joinable()) t.join();
  }
};

void add_stats(ScoreSummary& s, const Work& w) {
  s.documents += w.lines.size();
  s.segments += w.segments;
  s.bytes += w.bytes;
  for (size_t c = 0; c < s.categories.size() && c < w.stats.size(); ++c) {
    CategoryStats& t = s.stats[s.categories[c]];
    t.segments += w.stats[c].segments;
    t.over += w.stats[c].over;
    t.sum += w.stats[c].sum;
    t.max = std::max(t.max, w.stats[c].max);
    t.threshold = w.stats[c].threshold;
  }
}

std::string status_line(const ScoreSummary& s, double seconds) {
  return human_count(double(s.documents)) + " docs | " + human_count(double(s.segments)) + " segments | " +
         human_bytes(double(s.bytes)) + " | " + human_bytes(seconds > 0 ? double(s.bytes) / seconds : 0.0) + "/s" +
         ((s.bad_input + s.score_errors) ? " | " + std::to_string(s.bad_input + s.score_errors) + " skipped" : "");
}

}  // namespace

namespace {

// Every scorer of the config, with its categories checked for clashes.
std::vector<std::unique_ptr<Scorer>> build_scorers(const ScoreConfig& cfg, std::vector<std::string>& categories) {
  std::vector<std::unique_ptr<Scorer>> out;
  std::set<std::string> seen;
  for (size_t i = 0; i < cfg.scorers.size(); ++i) {
    const std::string where = "score config: scorers[" + std::to_string(i) + "]";
    out.push_back(make_scorer(cfg.scorers[i], where));
    for (const std::string& c : out.back()->categories())
      if (!seen.insert(c).second)
        fail(where, "score category \"" + c + "\" is produced by two scorers", "give each scorer its own \"name\"");
  }
  categories.assign(seen.begin(), seen.end());
  return out;
}

// Output sink: an atomic file, or stdout for "-".
class Output {
 public:
  explicit Output(const std::string& path) {
    if (path != "-") file_ = std::make_unique<JsonlWriter>(path);
  }
  void write_line(const std::string& line) {
    if (file_) {
      file_->write_line(line);
    } else {
      std::fwrite(line.data(), 1, line.size(), stdout);
      std::fputc('\n', stdout);
    }
  }
  void commit() {
    if (file_)
      file_->commit();
    else
      std::fflush(stdout);
  }

 private:
  std::unique_ptr<JsonlWriter> file_;
};

// Reports a skipped record or document (or, without skip_bad, ends the run with it).
struct ErrorLog {
  bool skip_bad, quiet;
  ScoreSummary& summary;
  size_t printed = 0;
  void add(const std::string& message) {
    if (summary.first_errors.size() < 20) summary.first_errors.push_back(message);
    if (quiet) return;
    if (printed < 20)
      warn("skipped: " + message);
    else if (printed == 20)
      warn("further skipped records are counted, not printed");
    ++printed;
  }
};

}  // namespace

ScoreConfig ScoreConfig::from_json(const json& j, const std::string& where) {
  if (!j.is_object())
    fail(where, "a score config must be a JSON object", "e.g. {\"segmenter\": \"line\", \"scorers\": [...]}");
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.key() != "segmenter" && it.key() != "scorers" && it.key() != "thresholds" && it.key() != "batch_documents" &&
        it.key() != "batch_bytes" && it.key() != "comment")
      fail(where, "unknown field \"" + it.key() + "\" in a score config",
           "known fields: segmenter, scorers, thresholds, batch_documents, batch_bytes, comment");
  ScoreConfig c;
  c.segmenter = parse_segmenter(json_optional<std::string>(j, "segmenter", "sentence", where), where);
  if (!j.contains("scorers") || !j["scorers"].is_array() || j["scorers"].empty())
    fail(where, "field \"scorers\" must be a non-empty array of scorer configs", "e.g. [{\"type\": \"pii\"}]");
  c.scorers = j["scorers"];
  if (j.contains("thresholds")) {
    if (!j["thresholds"].is_object()) fail(where, "field \"thresholds\" must be an object {category: number}");
    for (auto it = j["thresholds"].begin(); it != j["thresholds"].end(); ++it) {
      if (!it->is_number()) fail(where, "threshold \"" + it.key() + "\" must be a number");
      c.thresholds[it.key()] = it->get<double>();
    }
  }
  long long docs = json_optional<long long>(j, "batch_documents", static_cast<long long>(c.batch_documents), where);
  long long bytes = json_optional<long long>(j, "batch_bytes", static_cast<long long>(c.batch_bytes), where);
  if (docs < 1 || bytes < 1) fail(where, "batch_documents and batch_bytes must be >= 1");
  c.batch_documents = static_cast<size_t>(docs);
  c.batch_bytes = static_cast<size_t>(bytes);
  return c;
}

json ScoreConfig::to_json() const {
  return {{"segmenter", to_string(segmenter)},
          {"scorers", scorers},
          {"thresholds", thresholds},
          {"batch_documents", batch_documents},
          {"batch_bytes", batch_bytes}};
}

json short_float(float x) {
  if (x == 0.f) return 0.0;
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, x);  // shortest round trip for float
  *r.ptr = '\0';
  return std::strtod(buf, nullptr);
}

ordered_json ScoreSummary::to_json() const {
  ordered_json j;
  j["documents"] = documents;
  j["segments"] = segments;
  j["bytes"] = bytes;
  j["bad_input"] = bad_input;
  j["score_errors"] = score_errors;
  j["shard"] = shard;
  j["other_shards"] = other_shards;
  j["seconds"] = seconds;
  j["mb_per_second"] = seconds > 0 ? double(bytes) / 1e6 / seconds : 0.0;
  ordered_json cats = ordered_json::object();
  for (const std::string& c : categories) {
    const CategoryStats& s = stats.count(c) ? stats.at(c) : CategoryStats{};
    cats[c] = {{"segments", s.segments},
               {"threshold", s.threshold},
               {"over", s.over},
               {"fraction_over", s.segments ? double(s.over) / double(s.segments) : 0.0},
               {"mean", s.segments ? s.sum / double(s.segments) : 0.0},
               {"max", s.max}};
  }
  j["categories"] = std::move(cats);
  j["scorers"] = scorers;
  j["first_errors"] = first_errors;
  return j;
}

std::string format_score_summary(const ScoreSummary& s) {
  char line[512];
  std::string out;
  std::snprintf(line, sizeof line, "documents %llu | segments %llu | %s | %s | %.1f MB/s\n",
                (unsigned long long)s.documents, (unsigned long long)s.segments, human_bytes(double(s.bytes)).c_str(),
                human_duration(s.seconds).c_str(), s.seconds > 0 ? double(s.bytes) / 1e6 / s.seconds : 0.0);
  out += line;
  std::snprintf(line, sizeof line,
                "skipped: %llu bad input, %llu scorer errors | shard %s (%llu records left to others)\n",
                (unsigned long long)s.bad_input, (unsigned long long)s.score_errors, s.shard.c_str(),
                (unsigned long long)s.other_shards);
  out += line;
  std::snprintf(line, sizeof line, "%-20s %12s %10s %12s %12s %12s\n", "category", "segments", "threshold", "over",
                "mean", "max");
  out += line;
  for (const std::string& c : s.categories) {
    const CategoryStats st = s.stats.count(c) ? s.stats.at(c) : CategoryStats{};
    std::snprintf(line, sizeof line, "%-20s %12llu %10g %5.2f%% %5s %12.4g %12.4g\n", c.c_str(),
                  (unsigned long long)st.segments, st.threshold,
                  st.segments ? 100.0 * double(st.over) / double(st.segments) : 0.0, "",
                  st.segments ? st.sum / double(st.segments) : 0.0, st.max);
    out += line;
  }
  for (auto it = s.scorers.begin(); it != s.scorers.end(); ++it)
    if (!it->is_null()) out += "scorer " + it.key() + ": " + it->dump() + "\n";
  return out;
}

namespace {

// The writer: takes finished units in input order, reports their errors,
// appends their lines. Returns when every unit is written; rethrows a failure
// of the reader or a worker.
void write_units(Shared& sh, Output& out, ScoreSummary& summary, ErrorLog& log, Progress& progress, bool quiet) {
  uint64_t worker_bad = 0, position = 0;
  for (;;) {
    std::optional<Work> w;
    bool finished = false;
    std::vector<std::string> reader_msgs;
    {
      std::unique_lock<std::mutex> lock(sh.m);
      sh.cv.wait(lock, [&] {
        return sh.abort || sh.done.count(sh.written_units) || !sh.reader_errors.empty() ||
               (sh.reader_done && sh.written_units == sh.read_units);
      });
      if (sh.error) std::rethrow_exception(sh.error);
      if (sh.abort) fail("score", "the run was stopped");
      reader_msgs.swap(sh.reader_errors);
      summary.bad_input = sh.reader_bad + worker_bad;
      summary.other_shards = sh.other_shards;
      if (auto it = sh.done.find(sh.written_units); it != sh.done.end()) {
        w = std::move(it->second);
        sh.done.erase(it);
      } else {
        finished = sh.reader_done && sh.written_units == sh.read_units;
      }
    }
    for (const auto& m : reader_msgs) log.add(m);
    if (!w) {
      if (finished) return;
      continue;
    }
    for (const auto& [d, e] : w->errors) {
      if (!log.skip_bad) throw Error(e.where, e.what, e.hint);
      if (e.input)
        ++worker_bad, ++summary.bad_input;
      else
        ++summary.score_errors;
      log.add(Error(e.where, e.what).what());
    }
    for (const std::string& line : w->lines) out.write_line(line);
    add_stats(summary, *w);
    position = std::max(position, w->position);
    {
      std::lock_guard<std::mutex> lock(sh.m);
      ++sh.written_units;
      sh.cv.notify_all();
    }
    if (!quiet) progress.update(position / 1000000, status_line(summary, progress.elapsed_seconds()));
  }
}

}  // namespace

ScoreSummary run_score(const std::vector<std::string>& inputs, const ScoreConfig& cfg, const ScoreRunOptions& o) {
  ScoreSummary summary;
  const auto shard = parse_shard(o.shard, "--shard");
  summary.shard = o.shard;
  if (o.out.empty()) fail("--out", "no output file given", "pass -o scored.jsonl");
  if (o.max_line_bytes == 0) fail("--max-line-bytes", "must be positive");
  const std::vector<std::string> files = expand_inputs(inputs, o.glob);
  uint64_t total_bytes = 0;
  for (const auto& f : files) total_bytes += file_size(f);

  std::vector<std::unique_ptr<Scorer>> scorers = build_scorers(cfg, summary.categories);
  for (const auto& c : summary.categories)
    summary.stats[c].threshold = cfg.thresholds.count(c) ? cfg.thresholds.at(c) : 0.0;
  const size_t n_threads =
      o.threads > 0 ? static_cast<size_t>(o.threads) : std::max(1u, std::thread::hardware_concurrency());
  std::vector<WorkerScorers> workers(n_threads);
  for (size_t t = 0; t < n_threads; ++t)
    for (const auto& s : scorers) workers[t].scorers.push_back(s->clone());

  Output out(o.out);
  Shared sh;
  sh.max_in_flight = 2 * n_threads + 2;
  Reader reader(sh, cfg, o, files, shard);
  Progress progress("score MB", (total_bytes + 999999) / 1000000);
  ErrorLog log{o.skip_bad, o.quiet, summary};
  {
    ThreadGuard guard{sh, {}};
    guard.threads.emplace_back([&] {
      try {
        reader.run();
      } catch (const Aborted&) {
      } catch (const Error& e) {  // bad input without --skip-bad: say how to go on
        sh.fail_with(std::make_exception_ptr(
            e.hint().empty()
                ? Error(e.where(), e.problem(), "fix or remove the record, or pass --skip-bad to skip bad records")
                : e));
      } catch (...) {
        sh.fail_with(std::current_exception());
      }
    });
    for (size_t t = 0; t < n_threads; ++t)
      guard.threads.emplace_back([&, t] { worker_loop(sh, workers[t], cfg, o, summary.categories); });
    write_units(sh, out, summary, log, progress, o.quiet);
  }
  out.commit();
  summary.seconds = progress.elapsed_seconds();
  if (!o.quiet) progress.finish(status_line(summary, summary.seconds));
  for (const auto& s : scorers)
    if (json r = s->report(); !r.is_null()) summary.scorers[s->name()] = r;
  return summary;
}

}  // namespace prealign
