// PII scorer: Hyperscan scans the document once for every pattern; candidates
// are validated per kind (pii_patterns.cpp), overlapping ones of a kind collapse
// to one detection, kinds are resolved by priority, and each segment scores
// detections starting in it per character (code point), as PHF did with scrubadub.
#include "score/pii.hpp"

#include <hs/hs.h>

#include <algorithm>
#include <climits>
#include <set>

#include "core/error.hpp"
#include "core/utf8.hpp"
#include "score/scorer.hpp"
#include "score/scorers.hpp"

namespace prealign {

struct PiiDetector::Database {
  hs_database_t* db = nullptr;
  std::vector<PiiKind> kind_of;  // Hyperscan pattern id -> kind
  ~Database() { hs_free_database(db); }
};

namespace {

// A scan that finds more candidates than this is hostile input, not prose.
constexpr size_t kMaxHits = size_t(1) << 24;

struct Hit {
  uint32_t id;
  uint64_t from, to;
};

struct ScanState {
  std::vector<Hit>* hits;
  bool overflow = false;
};

int on_match(unsigned int id, unsigned long long from, unsigned long long to, unsigned int, void* ctx) {
  auto* st = static_cast<ScanState*>(ctx);
  if (st->hits->size() >= kMaxHits) {
    st->overflow = true;
    return 1;  // stop scanning
  }
  st->hits->push_back({id, from, to});
  return 0;
}

}  // namespace

PiiDetector::PiiDetector(const std::vector<PiiKind>& kinds) : enabled_(kPiiKinds, false) {
  for (PiiKind k : kinds) enabled_[static_cast<int>(k)] = true;
  auto db = std::make_shared<Database>();
  std::vector<const char*> exprs;
  std::vector<unsigned> flags, ids;
  for (const PiiPattern& p : pii_patterns()) {
    if (!enabled_[static_cast<int>(p.kind)]) continue;
    ids.push_back(static_cast<unsigned>(exprs.size()));
    exprs.push_back(p.regex);
    flags.push_back(HS_FLAG_SOM_LEFTMOST);  // we need where each match starts
    db->kind_of.push_back(p.kind);
  }
  if (exprs.empty()) fail("pii scorer", "no PII kinds enabled");
  hs_compile_error_t* err = nullptr;
  if (hs_compile_multi(exprs.data(), flags.data(), ids.data(), static_cast<unsigned>(exprs.size()), HS_MODE_BLOCK,
                       nullptr, &db->db, &err) != HS_SUCCESS) {
    std::string msg = err && err->message ? err->message : "unknown error";
    int which = err ? err->expression : -1;
    hs_free_compile_error(err);
    fail("pii scorer", "Hyperscan could not compile pattern " + std::to_string(which) + ": " + msg);
  }
  hs_scratch_t* scratch = nullptr;
  if (hs_alloc_scratch(db->db, &scratch) != HS_SUCCESS) fail("pii scorer", "Hyperscan scratch allocation failed");
  scratch_ = scratch;
  db_ = std::move(db);
}

PiiDetector::PiiDetector(const PiiDetector& other) : db_(other.db_), enabled_(other.enabled_) {
  hs_scratch_t* scratch = nullptr;
  if (hs_clone_scratch(static_cast<hs_scratch_t*>(other.scratch_), &scratch) != HS_SUCCESS)
    fail("pii scorer", "Hyperscan scratch clone failed");
  scratch_ = scratch;
}

PiiDetector::~PiiDetector() { hs_free_scratch(static_cast<hs_scratch_t*>(scratch_)); }

namespace {

// Per kind: candidates by start, longest first; the first that validates wins
// and later candidates overlapping it are dropped.
void resolve_kind(std::string_view text, PiiKind kind, const std::vector<Hit>& hits, size_t lo, size_t hi,
                  std::vector<PiiDetection>& out) {
  uint64_t last_end = 0;
  bool any = false;
  for (size_t i = lo; i < hi;) {
    size_t j = i;
    while (j < hi && hits[j].from == hits[i].from) ++j;
    if (!any || hits[i].from >= last_end) {
      for (size_t k = i; k < j; ++k) {
        if (k > i && hits[k].to == hits[k - 1].to) continue;  // same span from two patterns
        if (auto v = validate_pii(kind, text, hits[k].from, hits[k].to)) {
          if (any && v->begin < last_end) continue;
          out.push_back({kind, v->begin, v->end});
          last_end = v->end;
          any = true;
          break;
        }
      }
    }
    i = j;
  }
}

// Across kinds, the higher-priority kind (lower enum value) keeps an overlapped span.
std::vector<PiiDetection> resolve_kinds(std::vector<PiiDetection> found) {
  std::stable_sort(found.begin(), found.end(),
                   [](const PiiDetection& a, const PiiDetection& b) { return a.kind < b.kind; });
  std::set<std::pair<uint64_t, uint64_t>> taken;  // accepted [begin, end)
  std::vector<PiiDetection> out;
  for (const PiiDetection& d : found) {
    auto it = taken.lower_bound({d.begin, 0});
    bool clash = (it != taken.end() && it->first < d.end) || (it != taken.begin() && std::prev(it)->second > d.begin);
    if (clash) continue;
    taken.insert({d.begin, d.end});
    out.push_back(d);
  }
  std::sort(out.begin(), out.end(), [](const PiiDetection& a, const PiiDetection& b) { return a.begin < b.begin; });
  return out;
}

}  // namespace

std::vector<PiiDetection> PiiDetector::detect(std::string_view text) {
  if (text.empty()) return {};
  if (text.size() > UINT_MAX) throw ScoreError("document too large for the PII scanner (over 4 GiB)");
  std::vector<Hit> hits;
  ScanState st{&hits};
  hs_error_t rc = hs_scan(db_->db, text.data(), static_cast<unsigned>(text.size()), 0,
                          static_cast<hs_scratch_t*>(scratch_), on_match, &st);
  if (st.overflow) throw ScoreError("more than " + std::to_string(kMaxHits) + " PII candidates in one document");
  if (rc != HS_SUCCESS && rc != HS_SCAN_TERMINATED)
    throw ScoreError("Hyperscan scan failed (" + std::to_string(rc) + ")");
  const auto& kind_of = db_->kind_of;
  std::sort(hits.begin(), hits.end(), [&](const Hit& a, const Hit& b) {
    if (kind_of[a.id] != kind_of[b.id]) return kind_of[a.id] < kind_of[b.id];
    if (a.from != b.from) return a.from < b.from;
    return a.to > b.to;
  });
  std::vector<PiiDetection> found;
  for (size_t i = 0; i < hits.size();) {
    size_t j = i;
    while (j < hits.size() && kind_of[hits[j].id] == kind_of[hits[i].id]) ++j;
    resolve_kind(text, kind_of[hits[i].id], hits, i, j, found);
    i = j;
  }
  return resolve_kinds(std::move(found));
}

namespace {

class PiiScorer : public Scorer {
 public:
  PiiScorer(std::string name, bool details, const std::vector<PiiKind>& kinds)
      : name_(std::move(name)), details_(details), detector_(kinds) {}

  std::string name() const override { return name_; }
  std::vector<std::string> categories() const override { return {name_}; }

  ScoreResult score(std::string_view text, const std::vector<Span>& segments) override {
    if (!spans_valid(segments, text.size())) throw ScoreError("segments do not fit the document");
    ScoreResult r;
    r.scores.assign(segments.size(), std::vector<float>{0.0f});
    if (segments.empty()) return r;
    std::vector<uint64_t> counts(segments.size(), 0);
    for (const PiiDetection& d : detector_.detect(text)) {
      size_t s = segment_index(segments, d.begin);
      if (d.begin < segments[s].begin || d.begin >= segments[s].end) continue;  // outside every segment
      ++counts[s];
      if (details_)
        r.details.push_back({{"kind", to_string(d.kind)}, {"start", d.begin}, {"end", d.end}, {"segment", s}});
    }
    for (size_t s = 0; s < segments.size(); ++s) {
      size_t chars = utf8_length(text.substr(segments[s].begin, segments[s].end - segments[s].begin));
      if (chars > 0) r.scores[s][0] = static_cast<float>(double(counts[s]) / double(chars));
    }
    return r;
  }

  std::unique_ptr<Scorer> clone() const override { return std::make_unique<PiiScorer>(*this); }

 private:
  std::string name_;
  bool details_;
  PiiDetector detector_;  // copying clones the Hyperscan scratch
};

std::string kind_list() {
  std::string s;
  for (PiiKind k : all_pii_kinds()) s += (s.empty() ? "" : ", ") + std::string(to_string(k));
  return s;
}

}  // namespace

std::unique_ptr<Scorer> make_pii_scorer(const json& config, const std::string& where) {
  if (!config.is_object()) fail(where, "a scorer config must be a JSON object");
  for (auto it = config.begin(); it != config.end(); ++it)
    if (it.key() != "type" && it.key() != "name" && it.key() != "details" && it.key() != "kinds")
      fail(where, "unknown field \"" + it.key() + "\" in a pii scorer config",
           "known fields: type, name, details, kinds");
  std::string type = json_optional<std::string>(config, "type", "pii", where);
  if (type != "pii") fail(where, "field \"type\" is \"" + type + "\", expected \"pii\"");
  std::string name = json_optional<std::string>(config, "name", "pii", where);
  if (name.empty()) fail(where, "field \"name\" is empty", "give the score category a name, e.g. \"pii\"");
  bool details = json_optional<bool>(config, "details", false, where);
  std::vector<PiiKind> kinds = all_pii_kinds();
  if (config.contains("kinds")) {
    auto names = json_required<std::vector<std::string>>(config, "kinds", where);
    if (names.empty()) fail(where, "field \"kinds\" is empty", "list some of: " + kind_list());
    kinds.clear();
    for (const std::string& n : names) {
      auto k = parse_pii_kind(n);
      if (!k) fail(where, "unknown PII kind \"" + n + "\" in field \"kinds\"", "known kinds: " + kind_list());
      kinds.push_back(*k);
    }
  }
  return std::make_unique<PiiScorer>(name, details, kinds);
}

}  // namespace prealign
