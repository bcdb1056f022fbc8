// JSON in and out, with errors that name the file and record.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace prealign {
using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

json parse_json(std::string_view text, const std::string& where);
json read_json_file(const std::string& path);
void write_json_file(const std::string& path, const json& j);  // atomic, indented
void write_json_file(const std::string& path, const ordered_json& j);

// Required field of a given type; the error names `where` and the key.
template <class T>
T json_required(const json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key)) fail(where, std::string("missing field \"") + key + "\"");
  try {
    return j.at(key).get<T>();
  } catch (const json::exception&) {
    fail(where, std::string("field \"") + key + "\" has the wrong type (" + j.at(key).type_name() + ")");
  }
}

template <class T>
T json_optional(const json& j, const char* key, T fallback, const std::string& where) {
  if (!j.is_object() || !j.contains(key) || j.at(key).is_null()) return fallback;
  return json_required<T>(j, key, where);
}

}  // namespace prealign
