// A tagset declares a model's control tags: name, category, kind and pairing.
// It is stored in every checkpoint (tagset.json) next to tokenizer.model.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include "core/json_io.hpp"

namespace prealign {

enum class TagKind { Marker, Open, Close };

struct TagSpec {
  std::string name;      // surface form, e.g. "<|good|>", "<AI>"
  std::string category;  // alignment, mode, context, emotion, ...
  TagKind kind = TagKind::Marker;
  std::string pair;      // for Open: its Close tag; for Close: its Open tag; else empty
  json attributes = json::object();
};

class Tagset {
 public:
  Tagset() = default;
  static Tagset load(const std::string& path);
  static Tagset from_json(const json& j, const std::string& where);
  // Union of several tagsets (e.g. good_bad + ai_modes); a name declared twice
  // with different specs is an Error.
  static Tagset merge(const std::vector<Tagset>& sets);
  json to_json() const;

  const std::string& name() const { return name_; }
  const std::string& description() const { return description_; }
  const std::vector<TagSpec>& tags() const { return tags_; }
  size_t size() const { return tags_.size(); }
  const TagSpec* find(std::string_view name) const;
  // Error "unknown tag" naming `where` and listing the known tags.
  const TagSpec& get(std::string_view name, const std::string& where) const;

 private:
  std::string name_;
  std::string description_;
  std::vector<TagSpec> tags_;
};

std::string to_string(TagKind k);

}  // namespace prealign
