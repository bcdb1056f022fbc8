#include "core/files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "core/error.hpp"

namespace prealign {
namespace fs = std::filesystem;

static std::string sys_error() { return std::strerror(errno); }

static std::string parent_dir(const std::string& path) {
  auto p = fs::path(path).parent_path();
  return p.empty() ? "." : p.string();
}

static std::string unique_suffix() {
  static std::atomic<int> counter{0};
  return std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  tmp_path_ = path_ + ".tmp-" + unique_suffix();
  fd_ = ::open(tmp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) fail(path_, "cannot create temporary file " + tmp_path_ + ": " + sys_error(),
                    "check that the directory exists and is writable");
  buffer_.reserve(1 << 20);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(tmp_path_.c_str());
}

void AtomicFile::flush_buffer() {
  size_t off = 0;
  while (off < buffer_.size()) {
    ssize_t n = ::write(fd_, buffer_.data() + off, buffer_.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(path_, "write failed: " + sys_error(), "is the disk full?");
    }
    off += static_cast<size_t>(n);
  }
  buffer_.clear();
}

void AtomicFile::write(std::string_view bytes) {
  if (committed_) fail(path_, "write after commit");
  written_ += bytes.size();
  if (buffer_.size() + bytes.size() > (1 << 20)) flush_buffer();
  if (bytes.size() > (1 << 20)) {
    buffer_.assign(bytes);
    flush_buffer();
  } else {
    buffer_.append(bytes);
  }
}

void AtomicFile::commit() {
  if (committed_) return;
  flush_buffer();
  if (::fsync(fd_) != 0) fail(path_, "fsync failed: " + sys_error());
  ::close(fd_);
  fd_ = -1;
  if (::rename(tmp_path_.c_str(), path_.c_str()) != 0)
    fail(path_, "cannot rename " + tmp_path_ + " into place: " + sys_error());
  committed_ = true;
  fsync_directory(parent_dir(path_));
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  AtomicFile f(path);
  f.write(bytes);
  f.commit();
}

std::string read_file(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) fail(path, "cannot open: " + sys_error(), "check the path");
  std::string out;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  bool err = std::ferror(f);
  std::fclose(f);
  if (err) fail(path, "read error");
  return out;
}

bool file_exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool is_directory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

uint64_t file_size(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) fail(path, "cannot stat: " + sys_error());
  return static_cast<uint64_t>(st.st_size);
}

void make_directories(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) fail(path, "cannot create directory: " + ec.message());
}

void fsync_directory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;  // best effort: some filesystems refuse directory fds
  ::fsync(fd);
  ::close(fd);
}

void remove_all(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
}

static void fsync_tree(const std::string& dir) {
  for (auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    int fd = ::open(e.path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      ::fsync(fd);
      ::close(fd);
    }
  }
  fsync_directory(dir);
}

std::string staging_directory_for(const std::string& target) {
  std::string staging = target + ".staging-" + unique_suffix();
  remove_all(staging);
  make_directories(staging);
  return staging;
}

void publish_directory(const std::string& staging, const std::string& target) {
  fsync_tree(staging);
  if (is_directory(target)) {
    // Atomic swap (Linux >= 3.15); the old contents end up at `staging`.
#ifdef SYS_renameat2
    if (::syscall(SYS_renameat2, AT_FDCWD, staging.c_str(), AT_FDCWD, target.c_str(), 2 /*RENAME_EXCHANGE*/) == 0) {
      remove_all(staging);
      fsync_directory(parent_dir(target));
      return;
    }
#endif
    // Fallback: move the old one aside first; a crash in between leaves it at `.old`.
    std::string old = target + ".old-" + unique_suffix();
    if (::rename(target.c_str(), old.c_str()) != 0) fail(target, "cannot move old directory aside: " + sys_error());
    if (::rename(staging.c_str(), target.c_str()) != 0) fail(target, "cannot publish directory: " + sys_error());
    remove_all(old);
  } else {
    if (::rename(staging.c_str(), target.c_str()) != 0) fail(target, "cannot publish directory: " + sys_error());
  }
  fsync_directory(parent_dir(target));
}

std::vector<std::string> list_files(const std::string& root, const std::string& pattern) {
  std::vector<std::string> out;
  if (!is_directory(root)) {
    if (file_exists(root)) out.push_back(root);
    return out;
  }
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (!it->is_regular_file(ec)) continue;
    std::string rel = fs::relative(it->path(), root, ec).string();
    if (::fnmatch(pattern.c_str(), rel.c_str(), 0) == 0 ||
        ::fnmatch(pattern.c_str(), it->path().filename().c_str(), 0) == 0)
      out.push_back(it->path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace prealign
