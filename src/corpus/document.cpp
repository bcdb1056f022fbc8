#include "corpus/document.hpp"

#include <cmath>
#include <limits>

#include "core/utf8.hpp"

namespace prealign {

static bool on_utf8_boundary(const std::string& text, uint64_t offset) {
  return offset >= text.size() || (static_cast<unsigned char>(text[offset]) & 0xC0) != 0x80;
}

static uint64_t segment_offset(const json& seg, const char* key, const std::string& where) {
  if (!seg.contains(key)) fail(where, std::string("missing field \"") + key + "\"");
  const json& v = seg.at(key);
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
    fail(where, std::string("field \"") + key + "\" must be a non-negative integer byte offset");
  return v.get<uint64_t>();
}

// Scores of one segment, in the order of `categories` (which the first segment
// fixes: nlohmann::json keeps object keys sorted, so the order is canonical).
static void parse_scores(const json& seg, std::vector<std::string>& categories, bool first, Segment& out,
                         const std::string& where) {
  json empty = json::object();
  const json& scores = seg.contains("scores") ? seg.at("scores") : empty;
  if (!scores.is_object()) fail(where, "\"scores\" must be an object {category: number}");
  if (first) {
    for (auto it = scores.begin(); it != scores.end(); ++it) categories.push_back(it.key());
  } else if (scores.size() != categories.size()) {
    fail(where, "segment has " + std::to_string(scores.size()) + " score categories, the first segment has " +
                    std::to_string(categories.size()),
         "every segment of a document must be scored in the same categories");
  }
  out.scores.resize(categories.size());
  for (size_t c = 0; c < categories.size(); ++c) {
    auto it = scores.find(categories[c]);
    if (it == scores.end())
      fail(where, "segment lacks score category \"" + categories[c] + "\"",
           "every segment of a document must be scored in the same categories");
    if (!it->is_number()) fail(where, "score \"" + categories[c] + "\" is not a number");
    double x = it->get<double>();
    if (!std::isfinite(x) || std::fabs(x) > std::numeric_limits<float>::max())
      fail(where, "score \"" + categories[c] + "\" is not a finite float");
    out.scores[c] = static_cast<float>(x);
  }
}

static void parse_segments(const json& segs, Document& doc) {
  if (!segs.is_array()) fail(doc.where, "\"segments\" must be an array");
  uint64_t expect = 0;
  for (size_t i = 0; i < segs.size(); ++i) {
    const json& s = segs[i];
    std::string where = doc.where + " (segment " + std::to_string(i) + ")";
    if (!s.is_object()) fail(where, "segment is not an object");
    Segment seg;
    seg.begin = segment_offset(s, "start", where);
    seg.end = segment_offset(s, "end", where);
    if (seg.begin != expect)
      fail(where, "segment starts at byte " + std::to_string(seg.begin) + ", expected " + std::to_string(expect),
           "segments must be in order and contiguous, starting at 0");
    if (seg.end <= seg.begin) fail(where, "segment is empty or reversed (end <= start)");
    if (seg.end > doc.text.size())
      fail(where, "segment ends at byte " + std::to_string(seg.end) + ", past the end of the text (" +
                      std::to_string(doc.text.size()) + " bytes)");
    if (!on_utf8_boundary(doc.text, seg.end))
      fail(where, "segment end " + std::to_string(seg.end) + " cuts a UTF-8 character",
           "offsets are in bytes of the UTF-8 text, not in characters");
    parse_scores(s, doc.categories, i == 0, seg, where);
    expect = seg.end;
    doc.segments.push_back(std::move(seg));
  }
  if (!doc.segments.empty() && expect != doc.text.size())
    fail(doc.where, "segments cover " + std::to_string(expect) + " of " + std::to_string(doc.text.size()) +
                        " bytes", "segments must cover the text exactly");
}

static std::string id_string(const json& v, const std::string& key, const std::string& where) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return v.dump();
  fail(where, "field \"" + key + "\" must be a string or an integer");
}

Document document_from_json(const json& record, const std::string& where, const std::string& text_field,
                            const std::string& id_field) {
  if (!record.is_object()) fail(where, std::string("record is not a JSON object (") + record.type_name() + ")");
  Document doc;
  doc.where = where;
  auto text = record.find(text_field);
  if (text == record.end())
    fail(where, "missing field \"" + text_field + "\"", "each record needs its text in \"" + text_field + "\"");
  if (!text->is_string()) fail(where, "field \"" + text_field + "\" must be a string, not " + text->type_name());
  doc.text = text->get<std::string>();
  size_t bad = 0;
  if (!is_valid_utf8(doc.text, &bad)) fail(where, "invalid UTF-8 in the text at byte " + std::to_string(bad));
  auto id = record.find(id_field);
  doc.id = id == record.end() ? where : id_string(*id, id_field, where);
  if (auto t = record.find("tagged"); t != record.end()) {
    if (!t->is_boolean()) fail(where, "field \"tagged\" must be true or false");
    doc.tagged = t->get<bool>();
  }
  if (auto m = record.find("meta"); m != record.end() && !m->is_null()) {
    if (!m->is_object()) fail(where, "field \"meta\" must be an object");
    doc.meta = *m;
  }
  if (auto s = record.find("segments"); s != record.end() && !s->is_null()) parse_segments(*s, doc);
  for (auto it = record.begin(); it != record.end(); ++it) {
    const std::string& k = it.key();
    if (k == text_field || k == id_field || k == "segments" || k == "meta" || k == "tagged") continue;
    if (doc.meta.contains(k))
      fail(where, "field \"" + k + "\" appears both at top level and in \"meta\"");
    doc.meta[k] = it.value();
  }
  return doc;
}

Document document_from_json(const json& record, const std::string& where) {
  return document_from_json(record, where, "text", "id");
}

json document_to_json(const Document& doc) {
  json j = json::object();
  j["id"] = doc.id;
  j["text"] = doc.text;
  if (!doc.segments.empty()) {
    json segs = json::array();
    for (const Segment& s : doc.segments) {
      json scores = json::object();
      for (size_t c = 0; c < doc.categories.size() && c < s.scores.size(); ++c) scores[doc.categories[c]] = s.scores[c];
      segs.push_back({{"start", s.begin}, {"end", s.end}, {"scores", scores}});
    }
    j["segments"] = std::move(segs);
  }
  if (doc.tagged) j["tagged"] = true;
  if (!doc.meta.empty()) j["meta"] = doc.meta;
  return j;
}

std::vector<Segment> covering_segments(const Document& doc) {
  if (!doc.segments.empty()) return doc.segments;
  Segment whole;
  whole.begin = 0;
  whole.end = doc.text.size();
  whole.scores.assign(doc.categories.size(), 0.f);
  return {whole};
}

}  // namespace prealign
