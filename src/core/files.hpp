// File IO that never leaves a half-written file looking complete:
// write to a temporary sibling, fsync, rename over the target, fsync the directory.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace prealign {

// Streams bytes into `<path>.tmp-<pid>-<n>`; commit() makes them appear at `path`
// atomically. Destroying an uncommitted AtomicFile deletes the temporary file, so
// an error or crash mid-write leaves whatever was at `path` before untouched.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(std::string_view bytes);
  void write(const void* data, size_t n) { write(std::string_view(static_cast<const char*>(data), n)); }
  uint64_t bytes_written() const { return written_; }
  void commit();  // flush, fsync, rename, fsync directory
  const std::string& path() const { return path_; }

 private:
  void flush_buffer();
  std::string path_, tmp_path_, buffer_;
  int fd_ = -1;
  uint64_t written_ = 0;
  bool committed_ = false;
};

void write_file_atomic(const std::string& path, std::string_view bytes);
std::string read_file(const std::string& path);  // throws Error naming the file
bool file_exists(const std::string& path);
bool is_directory(const std::string& path);
uint64_t file_size(const std::string& path);
void make_directories(const std::string& path);
void fsync_directory(const std::string& dir);
void remove_all(const std::string& path);

// Publishes a fully written directory `staging` as `target`: fsyncs every file in
// it, then swaps it in with one rename (RENAME_EXCHANGE when `target` exists), so a
// reader sees either the old directory or the new one, never a mixture.
void publish_directory(const std::string& staging, const std::string& target);

// A fresh, empty staging directory beside `target` for publish_directory.
std::string staging_directory_for(const std::string& target);

// Sorted list of regular files under `root` (recursively) whose path matches the
// glob `pattern` (fnmatch on the path relative to root; "*" matches everything).
std::vector<std::string> list_files(const std::string& root, const std::string& pattern = "*");

}  // namespace prealign
