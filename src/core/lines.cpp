#include "core/lines.hpp"

#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/error.hpp"

namespace prealign {

LineReader::LineReader(std::string path, size_t max_line_bytes) : path_(std::move(path)), max_line_(max_line_bytes) {
  gzFile f = gzopen(path_.c_str(), "rb");
  if (!f) fail(path_, std::string("cannot open: ") + std::strerror(errno), "check the path");
  gzbuffer(f, 1 << 18);
  gz_ = f;
}

LineReader::~LineReader() {
  if (gz_) gzclose(static_cast<gzFile>(gz_));
}

std::string LineReader::where() const { return at(path_, line_no_); }

bool LineReader::fill() {
  if (eof_) return false;
  if (pos_ > 0) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  size_t old = buf_.size();
  buf_.resize(old + (1 << 18));
  int n = gzread(static_cast<gzFile>(gz_), &buf_[old], 1 << 18);
  if (n < 0) {
    int err;
    const char* msg = gzerror(static_cast<gzFile>(gz_), &err);
    fail(at(path_, line_no_ + 1), std::string("read error: ") + msg, "is the gzip file truncated?");
  }
  buf_.resize(old + static_cast<size_t>(n));
  if (n == 0) eof_ = true;
  return n > 0;
}

bool LineReader::next(std::string& line) {
  size_t scan_from = pos_;
  for (;;) {
    size_t nl = buf_.find('\n', scan_from);
    if (nl != std::string::npos) {
      line.assign(buf_, pos_, nl - pos_);
      bytes_ += nl - pos_ + 1;
      pos_ = nl + 1;
      ++line_no_;
      return true;
    }
    if (buf_.size() - pos_ > max_line_)
      fail(at(path_, line_no_ + 1), "line longer than " + std::to_string(max_line_ >> 20) + " MiB",
           "split the record, or raise the limit");
    size_t scanned = buf_.size() - pos_;
    if (!fill()) {
      if (pos_ >= buf_.size()) return false;
      line.assign(buf_, pos_, std::string::npos);  // last line without '\n'
      bytes_ += buf_.size() - pos_;
      pos_ = buf_.size();
      ++line_no_;
      return true;
    }
    scan_from = pos_ + scanned;
  }
}

namespace {

[[noreturn]] void too_long(const std::string& path, size_t max_bytes) {
  fail(path, "text longer than " + std::to_string(max_bytes) + " bytes, the limit of one document",
       "split the file, or pass --skip-bad to skip it");
}

bool starts_like_gzip(std::FILE* f) {
  unsigned char magic[2] = {0, 0};
  const bool gz = std::fread(magic, 1, 2, f) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  std::rewind(f);
  return gz;
}

}  // namespace

std::string read_text_file(const std::string& path, size_t max_bytes) {
  // A plain file's length is its size: one too long is refused without reading a byte.
  if (std::FILE* probe = std::fopen(path.c_str(), "rb")) {
    const bool plain = !starts_like_gzip(probe);
    std::fclose(probe);
    if (plain && file_size(path) > max_bytes) too_long(path, max_bytes);
  }
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) fail(path, std::string("cannot open: ") + std::strerror(errno), "check the path");
  std::string out;
  char buf[1 << 16];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) {
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {  // gzip: found while decompressing, after max_bytes + 64 KiB at most
      gzclose(f);
      too_long(path, max_bytes);
    }
  }
  int err = 0;
  const char* msg = n < 0 ? gzerror(f, &err) : nullptr;
  gzclose(f);
  if (n < 0) fail(path, std::string("read error: ") + (msg ? msg : "?"), "is the gzip file truncated?");
  return out;
}

}  // namespace prealign
