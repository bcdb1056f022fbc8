#include "tasks/task.hpp"

#include <unordered_set>

#include "core/lines.hpp"

namespace prealign {

json TaskRecord::to_json() const {
  json j = {{"id", id}, {"family", family}};
  if (!variant.empty()) j["variant"] = variant;
  j["split"] = split;
  j["seed"] = seed;
  if (!system.empty()) j["system"] = system;
  j["prompt"] = prompt;
  j["verifier"] = verifier;
  if (!source.is_null()) j["source"] = source;
  return j;
}

TaskRecord TaskRecord::from_json(const json& j, const std::string& where) {
  if (!j.is_object()) fail(where, "a task record must be a JSON object, got " + std::string(j.type_name()));
  TaskRecord t;
  t.id = json_required<std::string>(j, "id", where);
  require(!t.id.empty(), where, "field \"id\" is empty");
  t.family = json_required<std::string>(j, "family", where);
  t.variant = json_optional<std::string>(j, "variant", "", where);
  t.split = json_optional<std::string>(j, "split", "train", where);
  require(t.split == "train" || t.split == "test", where,
          "field \"split\" is \"" + t.split + "\"", "expected \"train\" or \"test\"");
  t.seed = json_optional<uint64_t>(j, "seed", 0, where);
  t.system = json_optional<std::string>(j, "system", "", where);
  t.prompt = json_required<std::string>(j, "prompt", where);
  if (!j.contains("verifier") || !j.at("verifier").is_object())
    fail(where, "missing or non-object field \"verifier\"", "each task carries its verifier spec, see docs/tasks.md");
  t.verifier = j.at("verifier");
  if (!t.verifier.contains("type") || !t.verifier.at("type").is_string())
    fail(where, "the verifier has no string field \"type\"");
  if (j.contains("source")) t.source = j.at("source");
  return t;
}

std::vector<TaskRecord> read_tasks(const std::string& path) {
  std::vector<TaskRecord> out;
  std::unordered_set<std::string> ids;
  LineReader in(path);
  for (std::string line; in.next(line);) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = in.where();
    TaskRecord t = TaskRecord::from_json(parse_json(line, where), where);
    if (!ids.insert(t.id).second) fail(where, "task id \"" + t.id + "\" appears twice", "ids must be unique in a file");
    out.push_back(std::move(t));
  }
  return out;
}

void write_tasks(const std::string& path, const std::vector<TaskRecord>& tasks) {
  JsonlWriter w(path);
  for (const auto& t : tasks) w.write(t.to_json());
  w.commit();
}

std::vector<Completion> read_completions(const std::string& path) {
  std::vector<Completion> out;
  LineReader in(path);
  for (std::string line; in.next(line);) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = in.where();
    const json j = parse_json(line, where);
    if (!j.is_object()) fail(where, "a completion must be a JSON object {\"id\", \"completion\"}");
    Completion c;
    c.id = json_required<std::string>(j, "id", where);
    c.completion = json_required<std::string>(j, "completion", where);
    c.where = where;
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace prealign
