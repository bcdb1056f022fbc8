// Errors that tell the user where (file, line or record) and what to do next.
#pragma once
#include <stdexcept>
#include <string>

namespace prealign {

// Every user-facing failure is an Error: `where` names the file and line/record
// (or the option), `what` says what is wrong, `hint` says how to fix it.
class Error : public std::runtime_error {
 public:
  Error(std::string where, std::string what, std::string hint = "");
  const std::string& where() const { return where_; }
  const std::string& problem() const { return problem_; }
  const std::string& hint() const { return hint_; }

 private:
  std::string where_, problem_, hint_;
};

[[noreturn]] void fail(const std::string& where, const std::string& what, const std::string& hint = "");

// "file:line" — the conventional location prefix used throughout.
std::string at(const std::string& file, long long line);

// Check a condition that depends on user input; throws Error when false.
inline void require(bool ok, const std::string& where, const std::string& what,
                    const std::string& hint = "") {
  if (!ok) fail(where, what, hint);
}

}  // namespace prealign
