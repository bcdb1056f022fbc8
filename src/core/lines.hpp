// Line-oriented input (plain or gzip, detected by content) and JSONL output.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "core/files.hpp"
#include "core/json_io.hpp"

namespace prealign {

// Reads a text file line by line; gzip is decompressed transparently. Lines come
// without their trailing "\n". A line longer than `max_line_bytes` is an Error
// naming file and line, so one hostile 50 MB line cannot exhaust memory.
class LineReader {
 public:
  explicit LineReader(std::string path, size_t max_line_bytes = size_t(64) << 20);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  bool next(std::string& line);
  long long line_number() const { return line_no_; }
  uint64_t bytes_read() const { return bytes_; }  // decompressed bytes consumed so far
  const std::string& path() const { return path_; }
  std::string where() const;  // "path:line"

 private:
  bool fill();
  std::string path_;
  void* gz_ = nullptr;
  std::string buf_;
  size_t pos_ = 0;
  bool eof_ = false;
  size_t max_line_;
  long long line_no_ = 0;
  uint64_t bytes_ = 0;
};

// Whole file as text, gzip decompressed when the content is gzip. A file whose
// (decompressed) text is longer than `max_bytes` is an Error naming it: a plain
// file by its size, before reading; a gzip file after at most max_bytes + 64 KiB.
std::string read_text_file(const std::string& path, size_t max_bytes = SIZE_MAX);

// Appends one JSON value per line to an AtomicFile; nothing appears at the
// target path until commit().
class JsonlWriter {
 public:
  explicit JsonlWriter(const std::string& path) : file_(path) {}
  void write(const json& record) {
    file_.write(record.dump(-1, ' ', false, json::error_handler_t::strict));
    file_.write("\n");
    ++records_;
  }
  void write_line(std::string_view line) {
    file_.write(line);
    file_.write("\n");
    ++records_;
  }
  void commit() { file_.commit(); }
  uint64_t records() const { return records_; }

 private:
  AtomicFile file_;
  uint64_t records_ = 0;
};

}  // namespace prealign
