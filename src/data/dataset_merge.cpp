#include "data/dataset_merge.hpp"

#include <filesystem>
#include <set>

#include "core/error.hpp"
#include "core/files.hpp"
#include "data/shard.hpp"

namespace prealign {
namespace {

namespace fs = std::filesystem;

// What must be equal in every part, as a JSON value for comparison and messages.
json identity(const Dataset& d) {
  const json& m = d.manifest;
  return {{"tokenizer", m.at("tokenizer")},
          {"categories", m.at("categories")},
          {"split", m.contains("split") ? m.at("split") : json()},
          {"version", m.at("version")}};
}

void check_parts_numbering(const std::vector<Dataset>& parts) {
  std::set<uint64_t> seen;
  uint64_t count = 0;
  for (const Dataset& d : parts) {
    const std::string where = d.dir + "/dataset.json";
    if (!d.manifest.contains("part")) {
      if (parts.size() > 1 && count > 0) fail(where, "has no part number while others do", "merge parts of one array");
      continue;
    }
    const uint64_t index = d.manifest.at("part").at("index"), n = d.manifest.at("part").at("count");
    if (count == 0) count = n;
    if (n != count)
      fail(where, "is part of an array of " + std::to_string(n) + " jobs, others of " + std::to_string(count),
           "merge the parts of one array");
    if (!seen.insert(index).second) fail(where, "part " + std::to_string(index) + " is given twice");
  }
  if (count > 1 && seen.size() != count)
    fail("dataset merge", std::to_string(seen.size()) + " of the array's " + std::to_string(count) + " parts given",
         "wait for every job of the array, then merge all of them");
}

// A shard entry of `part`, its file named relative to the merged directory.
json relocated(const json& entry, const std::string& part_dir, const std::string& out) {
  json e = entry;
  const fs::path file = fs::absolute(fs::path(part_dir) / entry.at("file").get<std::string>());
  e["file"] = fs::relative(file, fs::absolute(out)).string();
  return e;
}

}  // namespace

MergeResult merge_datasets(const std::vector<std::string>& part_dirs, const std::string& out) {
  if (part_dirs.empty()) fail("dataset merge", "no parts given", "name the directories the jobs wrote");
  if (fs::exists(out)) fail(out, "already exists", "merge into a new directory");
  std::vector<Dataset> parts;
  for (const std::string& dir : part_dirs) parts.push_back(Dataset::open(dir));  // checks each part's shards
  const json want = identity(parts.front());
  for (const Dataset& d : parts)
    if (identity(d) != want)
      fail(d.dir + "/dataset.json", "differs from " + parts.front().dir + " in tokenizer, categories or split rule",
           "tokenize every part with the same tokenizer, --seed and --val-fraction");
  check_parts_numbering(parts);

  MergeResult r;
  ordered_json m = ordered_json::object();
  m["format"] = "prealign-dataset";
  m["version"] = parts.front().manifest.at("version");
  m["created_by"] = "prealign dataset merge";
  m["categories"] = parts.front().manifest.at("categories");
  m["tokenizer"] = parts.front().manifest.at("tokenizer");
  m["train"] = json::array();
  m["val"] = json::array();
  if (parts.front().manifest.contains("split")) m["split"] = parts.front().manifest.at("split");
  m["parts"] = part_dirs;
  for (const Dataset& d : parts) {
    for (const char* split : {"train", "val"})
      for (const json& e : d.manifest.at(split)) {
        m[split].push_back(ordered_json(relocated(e, d.dir, out)));
        (std::string(split) == "train" ? r.train_shards : r.val_shards)++;
        (std::string(split) == "train" ? r.train_tokens : r.val_tokens) += e.at("tokens").get<uint64_t>();
        r.documents += e.at("documents").get<uint64_t>();
      }
  }
  const std::string staging = staging_directory_for(out);
  write_file_atomic(staging + "/tokenizer.model", read_file(parts.front().dir + "/tokenizer.model"));
  if (file_exists(parts.front().dir + "/tagset.json"))
    write_file_atomic(staging + "/tagset.json", read_file(parts.front().dir + "/tagset.json"));
  write_json_file(staging + "/dataset.json", m);
  publish_directory(staging, out);
  Dataset::open(out);  // every relocated shard opens from the merged directory
  return r;
}

}  // namespace prealign
