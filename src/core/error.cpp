#include "core/error.hpp"

namespace prealign {

static std::string compose(const std::string& where, const std::string& what, const std::string& hint) {
  std::string s = where.empty() ? what : where + ": " + what;
  if (!hint.empty()) s += "\n  hint: " + hint;
  return s;
}

Error::Error(std::string where, std::string what, std::string hint)
    : std::runtime_error(compose(where, what, hint)),
      where_(std::move(where)), problem_(std::move(what)), hint_(std::move(hint)) {}

void fail(const std::string& where, const std::string& what, const std::string& hint) {
  throw Error(where, what, hint);
}

std::string at(const std::string& file, long long line) { return file + ":" + std::to_string(line); }

}  // namespace prealign
