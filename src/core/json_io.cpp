#include "core/json_io.hpp"

#include "core/files.hpp"

namespace prealign {

json parse_json(std::string_view text, const std::string& where) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    std::string msg = e.what();
    auto pos = msg.find("parse error");
    fail(where, "invalid JSON (" + (pos == std::string::npos ? msg : msg.substr(pos)) + ")");
  }
}

json read_json_file(const std::string& path) { return parse_json(read_file(path), path); }

void write_json_file(const std::string& path, const json& j) { write_file_atomic(path, j.dump(2) + "\n"); }
void write_json_file(const std::string& path, const ordered_json& j) { write_file_atomic(path, j.dump(2) + "\n"); }

}  // namespace prealign
