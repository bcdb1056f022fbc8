#include "tokenizer/tagset.hpp"

#include <filesystem>
#include <map>
#include <regex>

#include "core/utf8.hpp"
#include "tokenizer/band_tags.hpp"

namespace prealign {

namespace {

TagKind parse_kind(const std::string& s, const std::string& where) {
  if (s == "marker") return TagKind::Marker;
  if (s == "open") return TagKind::Open;
  if (s == "close") return TagKind::Close;
  fail(where, "unknown kind \"" + s + "\"", "kind is one of: marker, open, close");
}

bool is_byte_piece_name(const std::string& s) {
  static const std::regex byte_piece("<0x[0-9A-Fa-f]{2}>");
  return std::regex_match(s, byte_piece);
}

// A tag name becomes a SentencePiece control symbol, which constrains it beyond
// "a non-empty string": see each check's message for the reason.
void check_name(const std::string& name, const std::string& where) {
  if (name.empty()) fail(where, "empty tag name", "give every tag a \"name\", e.g. \"<|good|>\"");
  size_t bad = 0;
  if (!is_valid_utf8(name, &bad)) fail(where, "tag name is not valid UTF-8 (byte " + std::to_string(bad) + ")");
  for (unsigned char c : name)
    if (c <= 0x20 || c == 0x7F)
      fail(where, "tag name \"" + name + "\" contains whitespace or a control character",
           "tag names are single words such as <|bad|> or <AI>");
  if (name.find("\xE2\x96\x81") != std::string::npos)
    fail(where, "tag name \"" + name + "\" contains U+2581, SentencePiece's space mark", "rename the tag");
  // A one-character piece is what the encoder starts from for that character, so
  // a one-character tag could be produced by plain text.
  if (utf8_length(name) < 2)
    fail(where, "tag name \"" + name + "\" is a single character", "use e.g. <|" + name + "|>");
  if (name == "<unk>" || name == "<s>" || name == "</s>" || name == "<pad>" || is_byte_piece_name(name))
    fail(where, "tag name \"" + name + "\" is reserved by the tokenizer (special or byte piece)", "rename the tag");
}

TagSpec tag_from_json(const json& t, const std::string& where) {
  if (!t.is_object()) fail(where, "expected a JSON object for the tag");
  TagSpec spec;
  spec.name = json_required<std::string>(t, "name", where);
  check_name(spec.name, where);
  spec.category = json_optional<std::string>(t, "category", "", where);
  spec.kind = parse_kind(json_optional<std::string>(t, "kind", "marker", where), where);
  spec.pair = json_optional<std::string>(t, "pair", "", where);
  if (t.contains("attributes") && !t.at("attributes").is_null()) {
    if (!t.at("attributes").is_object()) fail(where, "\"attributes\" must be a JSON object");
    spec.attributes = t.at("attributes");
  }
  if (spec.kind == TagKind::Marker && !spec.pair.empty())
    fail(where, "marker tag \"" + spec.name + "\" has a \"pair\"", "only open/close tags are paired");
  if (spec.kind != TagKind::Marker && spec.pair.empty())
    fail(where, to_string(spec.kind) + " tag \"" + spec.name + "\" has no \"pair\"",
         "give the matching tag, e.g. \"pair\": \"</AI>\" for \"<AI>\"");
  return spec;
}

std::string tag_where(const std::string& where, size_t i, const std::string& name = "") {
  std::string w = where + ": tags[" + std::to_string(i) + "]";
  return name.empty() ? w : w + " (" + name + ")";
}

// Every tag's pair exists, is of the opposite kind and points back.
void check_pairs(const std::vector<TagSpec>& tags, const std::string& where) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < tags.size(); ++i) index[tags[i].name] = i;
  for (size_t i = 0; i < tags.size(); ++i) {
    const TagSpec& t = tags[i];
    if (t.kind == TagKind::Marker) continue;
    const std::string w = tag_where(where, i, t.name);
    auto it = index.find(t.pair);
    if (it == index.end()) fail(w, "pair \"" + t.pair + "\" is not declared in the tagset", "declare it as a tag");
    const TagSpec& p = tags[it->second];
    const TagKind want = t.kind == TagKind::Open ? TagKind::Close : TagKind::Open;
    if (p.kind != want)
      fail(w, "pair \"" + p.name + "\" is a " + to_string(p.kind) + " tag, expected " + to_string(want));
    if (p.pair != t.name)
      fail(w, "pair \"" + p.name + "\" points to \"" + p.pair + "\", not back to \"" + t.name + "\"");
  }
}

bool same_spec(const TagSpec& a, const TagSpec& b) {
  return a.name == b.name && a.category == b.category && a.kind == b.kind && a.pair == b.pair &&
         a.attributes == b.attributes;
}

}  // namespace

std::string to_string(TagKind k) {
  switch (k) {
    case TagKind::Marker:
      return "marker";
    case TagKind::Open:
      return "open";
    case TagKind::Close:
      return "close";
  }
  return "?";
}

Tagset Tagset::load(const std::string& path) {
  json j = read_json_file(path);
  if (j.is_object() && !j.contains("name")) j["name"] = std::filesystem::path(path).stem().string();
  return from_json(j, path);
}

Tagset Tagset::from_json(const json& j, const std::string& where) {
  if (!j.is_object()) fail(where, "a tagset is a JSON object {\"name\", \"tags\": [...]}");
  Tagset set;
  set.name_ = json_optional<std::string>(j, "name", "", where);
  set.description_ = json_optional<std::string>(j, "description", "", where);
  if (!j.contains("tags") || !j.at("tags").is_array())
    fail(where, "missing \"tags\" array", "a tagset lists its tags: {\"tags\": [{\"name\": \"<|good|>\", ...}]}");
  const json& tags = j.at("tags");
  if (tags.empty()) fail(where, "the tagset declares no tags");
  std::map<std::string, size_t> seen;
  for (size_t i = 0; i < tags.size(); ++i) {
    const std::string w = tag_where(where, i);
    TagSpec spec = tag_from_json(tags[i], w);
    auto [it, fresh] = seen.emplace(spec.name, i);
    if (!fresh) fail(w, "tag \"" + spec.name + "\" is declared twice (also tags[" + std::to_string(it->second) + "])");
    set.tags_.push_back(std::move(spec));
  }
  check_pairs(set.tags_, where);
  BandSet::all_in(set, where);  // band tags: edges checked wherever a tagset is read
  return set;
}

Tagset Tagset::merge(const std::vector<Tagset>& sets) {
  Tagset out;
  std::vector<std::string> names, descriptions;
  for (const Tagset& s : sets) {
    if (!s.name_.empty()) names.push_back(s.name_);
    if (!s.description_.empty()) descriptions.push_back(s.description_);
    for (const TagSpec& t : s.tags_) {
      if (const TagSpec* prior = out.find(t.name)) {
        if (!same_spec(*prior, t))
          fail("tagset " + s.name_, "tag \"" + t.name + "\" is declared differently by two merged tagsets",
               "make the declarations identical or rename one tag");
        continue;
      }
      out.tags_.push_back(t);
    }
  }
  for (size_t i = 0; i < names.size(); ++i) out.name_ += (i ? "+" : "") + names[i];
  for (size_t i = 0; i < descriptions.size(); ++i) out.description_ += (i ? " | " : "") + descriptions[i];
  check_pairs(out.tags_, "merged tagset " + out.name_);
  return out;
}

json Tagset::to_json() const {
  json tags = json::array();
  for (const TagSpec& t : tags_) {
    json o = {{"name", t.name}, {"category", t.category}, {"kind", to_string(t.kind)}};
    if (!t.pair.empty()) o["pair"] = t.pair;
    o["attributes"] = t.attributes;
    tags.push_back(std::move(o));
  }
  json j = {{"name", name_}, {"tags", std::move(tags)}};
  if (!description_.empty()) j["description"] = description_;
  return j;
}

const TagSpec* Tagset::find(std::string_view name) const {
  for (const TagSpec& t : tags_)
    if (t.name == name) return &t;
  return nullptr;
}

const TagSpec& Tagset::get(std::string_view name, const std::string& where) const {
  if (const TagSpec* t = find(name)) return *t;
  std::string known;
  for (const TagSpec& t : tags_) known += (known.empty() ? "" : " ") + t.name;
  fail(where, "unknown tag \"" + std::string(name) + "\"", "tagset " + name_ + " declares: " + known);
}

}  // namespace prealign
