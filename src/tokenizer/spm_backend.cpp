#include "tokenizer/spm_backend.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>

#include "core/error.hpp"
#include "core/files.hpp"

#ifndef PREALIGN_SPM_PATH
#define PREALIGN_SPM_PATH ""
#endif

namespace prealign::spm {
namespace {

std::string executable_dir() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string p(buf, static_cast<size_t>(n));
  return p.substr(0, p.find_last_of('/'));
}

Library* load() {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("PREALIGN_SPM_LIBRARY")) candidates.push_back(env);
  const std::string exe = executable_dir();
  candidates.push_back(exe + "/libprealign_spm.so");
  candidates.push_back(exe + "/../lib/libprealign_spm.so");
  if (*PREALIGN_SPM_PATH) candidates.push_back(PREALIGN_SPM_PATH);
  std::string tried;
  for (const auto& path : candidates) {
    if (!file_exists(path)) {
      tried += "\n  " + path + " (missing)";
      continue;
    }
    // DEEPBIND: SentencePiece resolves protobuf to its own bundled copy, never to libtorch's.
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (!handle) {
      tried += "\n  " + path + " (" + ::dlerror() + ")";
      continue;
    }
    auto entry = reinterpret_cast<Library* (*)()>(::dlsym(handle, "prealign_spm_library"));
    if (!entry) fail(path, "is not prealign's SentencePiece shim (no prealign_spm_library)");
    return entry();
  }
  fail("tokenizer", "cannot load libprealign_spm.so, prealign's SentencePiece shim; tried:" + tried,
       "build it (cmake --build build) or point PREALIGN_SPM_LIBRARY at it");
}

}  // namespace

Library& library() {
  static std::once_flag once;
  static Library* lib = nullptr;
  std::call_once(once, [] { lib = load(); });
  return *lib;
}

}  // namespace prealign::spm
