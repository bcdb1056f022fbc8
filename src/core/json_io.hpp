// JSON in and out, with errors that name the file and record.
#pragma once
#include <nlohmann/json.hpp>
#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>

#include "core/error.hpp"

namespace prealign {
using json = nlohmann::json;
using ordered_json = nlohmann::ordered_json;

// Deeper JSON is refused before parsing: nlohmann's copy, dump and comparison
// recurse once per level, so 70,000 nested "[" in one corpus line would
// overflow the stack of whatever thread touched the value.
inline constexpr int kMaxJsonDepth = 256;

// Every JSON read from outside goes through here: nesting is bounded
// (kMaxJsonDepth) and errors name `where`.
json parse_json(std::string_view text, const std::string& where);
// The deepest nesting of arrays and objects in `text`, counted by a scan that
// skips strings; it stops once past `limit` (and returns that depth). For valid
// JSON it is exact; for invalid JSON it bounds what the parser builds before the error.
int json_nesting_depth(std::string_view text, int limit = kMaxJsonDepth);
json read_json_file(const std::string& path);
void write_json_file(const std::string& path, const json& j);  // atomic, indented
void write_json_file(const std::string& path, const ordered_json& j);

// An integer field read as T: a number with an integral value in T's range
// (32 and 32.0 are accepted; 32.5, 1e30 and -1 for an unsigned T are refused,
// where nlohmann would truncate or wrap silently).
template <class T>
T json_integer(const json& v, const std::string& key, const std::string& where) {
  const std::string what = "field \"" + key + "\" ";
  if (!v.is_number()) fail(where, what + "has the wrong type (" + v.type_name() + ", expected an integer)");
  if (v.is_number_float() && v.get<double>() != std::floor(v.get<double>()))
    fail(where, what + "must be an integer, got " + v.dump());
  // Compared as long double, which holds every int64/uint64 exactly.
  const long double x = v.is_number_unsigned() ? static_cast<long double>(v.get<uint64_t>())
                        : v.is_number_integer() ? static_cast<long double>(v.get<int64_t>())
                                                : static_cast<long double>(v.get<double>());
  if (x < static_cast<long double>(std::numeric_limits<T>::min()) ||
      x > static_cast<long double>(std::numeric_limits<T>::max()))
    fail(where, what + v.dump() + " is out of range");
  return static_cast<T>(x);
}

// Required field of a given type; the error names `where` and the key.
template <class T>
T json_required(const json& j, const char* key, const std::string& where) {
  if (!j.is_object() || !j.contains(key)) fail(where, std::string("missing field \"") + key + "\"");
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    return json_integer<T>(j.at(key), key, where);
  } else {
    try {
      return j.at(key).get<T>();
    } catch (const json::exception&) {
      fail(where, std::string("field \"") + key + "\" has the wrong type (" + j.at(key).type_name() + ")");
    }
  }
}

template <class T>
T json_optional(const json& j, const char* key, T fallback, const std::string& where) {
  if (!j.is_object() || !j.contains(key) || j.at(key).is_null()) return fallback;
  return json_required<T>(j, key, where);
}

}  // namespace prealign
