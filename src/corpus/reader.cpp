#include "corpus/reader.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/files.hpp"
#include "core/lines.hpp"
#include "core/utf8.hpp"

namespace prealign {
namespace {

// Line reader for JSONL corpora. Unlike core's LineReader it can step over an
// over-long line (discarding it in bounded memory) and go on with the next one,
// so one hostile line costs one skipped record rather than the rest of the file.
class RecordLines {
 public:
  enum Status { kLine, kTooLong, kEnd };

  RecordLines(const std::string& path, size_t max_line) : path_(path), max_(max_line) {
    gz_ = gzopen(path.c_str(), "rb");
    if (!gz_) fail(path, std::string("cannot open: ") + std::strerror(errno), "check the path");
    gzbuffer(gz_, 1 << 18);
  }
  ~RecordLines() { gzclose(gz_); }
  RecordLines(const RecordLines&) = delete;
  RecordLines& operator=(const RecordLines&) = delete;

  long long line_number() const { return line_no_; }
  uint64_t offset() const { return static_cast<uint64_t>(gzoffset(gz_)); }  // file bytes consumed

  Status next(std::string& line) {
    size_t scan = pos_;
    bool too_long = false;
    for (;;) {
      size_t nl = buf_.find('\n', scan);
      if (nl != std::string::npos) {
        too_long = too_long || nl - pos_ > max_;
        if (!too_long) line.assign(buf_, pos_, nl - pos_);
        pos_ = nl + 1;
        ++line_no_;
        return too_long ? kTooLong : kLine;
      }
      if (buf_.size() - pos_ > max_) {  // drop what we have; keep scanning for the newline
        too_long = true;
        buf_.clear();
        pos_ = 0;
      }
      size_t scanned = buf_.size() - pos_;
      if (!fill()) {
        if (pos_ >= buf_.size() && !too_long) return kEnd;
        if (!too_long) line.assign(buf_, pos_, std::string::npos);  // last line without "\n"
        pos_ = buf_.size();
        ++line_no_;
        return too_long ? kTooLong : kLine;
      }
      scan = pos_ + scanned;  // fill() moved the unread bytes to the front
    }
  }

 private:
  bool fill() {
    if (pos_ > 0) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    size_t old = buf_.size();
    buf_.resize(old + kChunk);
    int n = gzread(gz_, &buf_[old], kChunk);
    if (n < 0) {
      int err = 0;
      fail(at(path_, line_no_ + 1), std::string("read error: ") + gzerror(gz_, &err), "is the gzip file truncated?");
    }
    buf_.resize(old + static_cast<size_t>(n));
    return n > 0;
  }

  static constexpr unsigned kChunk = 1 << 18;
  std::string path_;
  size_t max_;
  gzFile gz_ = nullptr;
  std::string buf_;
  size_t pos_ = 0;
  long long line_no_ = 0;
};

// Runs `parse`; an Error in it is rethrown, or with skip_bad counted and kept
// for the summary. Returns whether `parse` succeeded.
template <class F>
bool attempt(CorpusReadStats& stats, const CorpusReadOptions& o, F&& parse) {
  try {
    parse();
    return true;
  } catch (const Error& e) {
    if (!o.skip_bad) throw;
    ++stats.skipped;
    if (stats.first_errors.size() < 20) stats.first_errors.push_back(e.what());
    return false;
  }
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

bool is_jsonl_input(const std::string& path, const std::string& format) {
  if (format == "jsonl") return true;
  if (format == "text") return false;
  return ends_with(path, ".jsonl") || ends_with(path, ".jsonl.gz") || ends_with(path, ".ndjson") ||
         ends_with(path, ".ndjson.gz");
}

namespace {

// Numbers the next record and says whether this shard reads it.
bool this_shard(CorpusReadStats& stats, const CorpusReadOptions& o) {
  const uint64_t number = o.record_base + stats.records++;
  if (number % o.shard_count == o.shard_index) return true;
  ++stats.other_shards;
  return false;
}

bool blank(const std::string& line) {
  return std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

// Delivers a parsed document, or counts it as empty (an Error without skip_bad).
void deliver(Document&& doc, CorpusReadStats& stats, const CorpusReadOptions& o,
             const std::function<void(Document&&)>& sink) {
  if (doc.text.empty()) {
    bool ok = attempt(stats, o, [&] { fail(doc.where, "empty document", "remove it, or pass --skip-bad"); });
    if (!ok) ++stats.empty;
    return;
  }
  // Markup is trusted only by the command line (--tagged): a record cannot vouch
  // for itself, or any corpus line could turn "</AI>" into the tag.
  if (doc.tagged && !o.tagged) ++stats.untrusted_tagged;
  doc.tagged = o.tagged;
  ++stats.documents;
  stats.bytes += doc.text.size();
  sink(std::move(doc));  // errors of the consumer are not bad input: they propagate
}

void read_jsonl(const std::string& path, const CorpusReadOptions& o, CorpusReadStats& stats,
                const std::function<void(Document&&)>& sink) {
  std::unique_ptr<RecordLines> lines;
  if (!attempt(stats, o, [&] { lines = std::make_unique<RecordLines>(path, o.max_line_bytes); })) return;
  std::string line;
  for (;;) {
    RecordLines::Status st = RecordLines::kEnd;
    if (!attempt(stats, o, [&] { st = lines->next(line); })) return;  // unreadable rest of file
    if (st == RecordLines::kEnd) return;
    if (st == RecordLines::kLine && blank(line)) continue;
    if (o.on_progress) o.on_progress(lines->offset());
    if (!this_shard(stats, o)) continue;
    std::string where = at(path, lines->line_number());
    Document doc;
    bool ok = attempt(stats, o, [&] {
      if (st == RecordLines::kTooLong)
        fail(where, "line longer than " + std::to_string(o.max_line_bytes) + " bytes",
             "split the record, or pass --skip-bad to skip it");
      size_t bad = 0;
      if (!is_valid_utf8(line, &bad))
        fail(where, "invalid UTF-8 at byte " + std::to_string(bad) + " of the line", "re-encode the file as UTF-8");
      doc = document_from_json(parse_json(line, where), where, o.text_field, o.id_field);
    });
    if (ok) deliver(std::move(doc), stats, o, sink);
  }
}

void read_text(const std::string& path, const CorpusReadOptions& o, CorpusReadStats& stats,
               const std::function<void(Document&&)>& sink) {
  if (!this_shard(stats, o)) return;
  Document doc;
  bool ok = attempt(stats, o, [&] {
    doc.text = read_text_file(path, o.max_text_file_bytes);
    size_t bad = 0;
    if (!is_valid_utf8(doc.text, &bad)) {
      long long line = 1 + std::count(doc.text.begin(), doc.text.begin() + bad, '\n');
      fail(at(path, line), "invalid UTF-8 at byte " + std::to_string(bad) + " of the file",
           "re-encode the file as UTF-8, narrow --glob, or pass --skip-bad");
    }
  });
  if (!ok) return;
  if (o.on_progress) o.on_progress(file_size(path));
  doc.id = path;
  doc.where = path;
  deliver(std::move(doc), stats, o, sink);
}

bool hidden(const std::string& path, const std::string& root) {
  std::error_code ec;
  auto rel = std::filesystem::relative(path, root, ec);
  if (ec) return false;
  for (const auto& part : rel) {
    std::string s = part.string();
    if (s.size() > 1 && s[0] == '.' && s != "..") return true;
  }
  return false;
}

}  // namespace

std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs, const std::string& glob) {
  std::vector<std::string> out;
  for (const std::string& input : inputs) {
    if (!file_exists(input)) fail(input, "no such file or directory", "check the input path");
    if (!is_directory(input)) {
      out.push_back(input);
      continue;
    }
    size_t before = out.size();
    for (std::string& f : list_files(input, glob))
      if (!hidden(f, input)) out.push_back(std::move(f));
    if (out.size() == before)
      fail(input, "no files match \"" + glob + "\" in this directory", "check --glob (e.g. --glob '*.py')");
  }
  return out;
}

CorpusReadStats read_corpus(const std::vector<std::string>& inputs, const CorpusReadOptions& options,
                            const std::function<void(Document&&)>& sink) {
  if (options.format != "auto" && options.format != "jsonl" && options.format != "text")
    fail("--format", "unknown corpus format \"" + options.format + "\"", "use auto, jsonl or text");
  if (options.max_line_bytes == 0 || options.max_text_file_bytes == 0) fail("max_line_bytes", "must be positive");
  if (options.shard_count == 0 || options.shard_index >= options.shard_count)
    fail("--shard",
         "shard " + std::to_string(options.shard_index) + " of " + std::to_string(options.shard_count) +
             " does not exist",
         "write i/n with 0 <= i < n");
  CorpusReadStats stats;
  for (const std::string& path : expand_inputs(inputs, options.glob)) {
    if (is_jsonl_input(path, options.format))
      read_jsonl(path, options, stats, sink);
    else
      read_text(path, options, stats, sink);
  }
  if (stats.untrusted_tagged)
    std::fprintf(stderr,
                 "prealign: warning: %llu record(s) say \"tagged\": true; their markup was read as plain text "
                 "(only --tagged trusts a corpus's markup)\n",
                 static_cast<unsigned long long>(stats.untrusted_tagged));
  return stats;
}

std::pair<uint64_t, uint64_t> parse_shard(const std::string& text, const std::string& where) {
  size_t slash = text.find('/');
  auto number = [&](const std::string& s, uint64_t& out) {
    if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string::npos) return false;
    out = std::stoull(s);
    return true;
  };
  uint64_t i = 0, n = 0;
  if (slash == std::string::npos || !number(text.substr(0, slash), i) || !number(text.substr(slash + 1), n) || n == 0 ||
      i >= n)
    fail(where, "shard \"" + text + "\" is not i/n with 0 <= i < n", "e.g. --shard 3/16 (the 4th of 16 jobs)");
  return {i, n};
}


}  // namespace prealign
