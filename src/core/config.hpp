// One declaration per option. An options struct lists each field once:
//
//   struct TrainOptions {
//     double lr = 3e-4;
//     template <class V> void visit(V& v) { v("lr", lr, "peak learning rate"); }
//   };
//
// and the same list drives the command-line flags (cli/options.hpp), the JSON
// written into every checkpoint and run directory, and the resolved-config
// printout at start-up.
#pragma once
#include <string>

#include "core/json_io.hpp"

namespace prealign {

struct ConfigToJson {
  ordered_json& out;
  template <class T>
  void operator()(const char* name, T& field, const char* /*help*/) {
    out[name] = field;
  }
};

struct ConfigFromJson {
  const json& in;
  std::string where;
  template <class T>
  void operator()(const char* name, T& field, const char* /*help*/) {
    if (in.contains(name) && !in.at(name).is_null()) field = json_required<T>(in, name, where);
  }
};

template <class Options>
ordered_json config_to_json(Options& o) {
  ordered_json j = ordered_json::object();
  ConfigToJson v{j};
  o.visit(v);
  return j;
}

// Fills `o` from `j`; keys `o` does not declare are an Error (typos must not pass silently).
template <class Options>
void config_from_json(Options& o, const json& j, const std::string& where) {
  if (!j.is_object()) fail(where, "expected a JSON object");
  ordered_json known = config_to_json(o);
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!known.contains(it.key())) fail(where, "unknown option \"" + it.key() + "\"");
  ConfigFromJson v{j, where};
  o.visit(v);
}

}  // namespace prealign
