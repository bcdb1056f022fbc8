// Shared by the fuzz targets: inputs as files (the readers take paths), and the
// rule every target checks: bad input may only end in prealign::Error (a clear
// message naming the file and record). Any other exception escapes
// LLVMFuzzerTestOneInput and libFuzzer reports it as a crash, like a signal.
#pragma once
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "core/error.hpp"

namespace prealign::fuzz {

// The bytes as an anonymous in-memory file, reachable by path while alive.
class MemFile {
 public:
  MemFile(const uint8_t* data, size_t size) : fd_(::memfd_create("fuzz", 0)) {
    if (fd_ < 0) std::abort();
    for (size_t off = 0; off < size;) {
      const ssize_t n = ::write(fd_, data + off, size - off);
      if (n <= 0) std::abort();
      off += static_cast<size_t>(n);
    }
  }
  ~MemFile() { ::close(fd_); }
  MemFile(const MemFile&) = delete;
  MemFile& operator=(const MemFile&) = delete;
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_;
};

// Fails loudly when an invariant of the code under test does not hold.
inline void check(bool ok) {
  if (!ok) __builtin_trap();
}

// Runs `f`; an Error (refused input) is the expected way out of bad input.
template <class F>
void refusing_is_fine(F&& f) {
  try {
    f();
  } catch (const Error&) {
  }
}

}  // namespace prealign::fuzz
