#include "core/json_io.hpp"

#include "core/files.hpp"

namespace prealign {

int json_nesting_depth(std::string_view text, int limit) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;  // the escaped character cannot end the string
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

json parse_json(std::string_view text, const std::string& where) {
  if (json_nesting_depth(text) > kMaxJsonDepth)
    fail(where, "JSON nested more than " + std::to_string(kMaxJsonDepth) + " levels deep",
         "flatten the record (no real corpus, config or request nests this deep)");
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {  // parse_error, and out_of_range for numbers like 1e999
    std::string msg = e.what();
    auto pos = msg.find("parse error");
    fail(where, "invalid JSON (" + (pos == std::string::npos ? msg : msg.substr(pos)) + ")");
  }
}

json read_json_file(const std::string& path) { return parse_json(read_file(path), path); }

void write_json_file(const std::string& path, const json& j) { write_file_atomic(path, j.dump(2) + "\n"); }
void write_json_file(const std::string& path, const ordered_json& j) { write_file_atomic(path, j.dump(2) + "\n"); }

}  // namespace prealign
