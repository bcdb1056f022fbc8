// The `cascade` scorer: a cheap gate scores every segment; only segments whose
// gate score is over `gate_threshold` go on to the expensive scorer, the rest
// score 0 in the expensive scorer's categories (the gate judged them clean).
// An audit runs the expensive scorer on a deterministic sample of the segments
// the gate held back, to estimate the recall the gate costs (audit_fraction 1 =
// exact, the same as running the expensive scorer on everything). The audit is
// measurement only: it never changes the output.
#include <atomic>
#include <cstring>

#include "core/rng.hpp"
#include "score/scorers.hpp"

namespace prealign {

namespace {

struct CascadeStats {
  std::atomic<uint64_t> documents{0}, segments{0}, forwarded{0}, documents_forwarded{0}, audited{0}, bad_forwarded{0},
      bad_audited{0};
};

struct CascadeOptions {
  double gate_threshold = 0.5;
  double bad_threshold = 0.0;  // "bad" for the recall estimate: expensive score > this (first category)
  double audit_fraction = 0.0;
  uint64_t seed = 0;
  bool whole_documents = false;  // forward a document whole if any segment passes the gate
};

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

class CascadeScorer : public Scorer {
 public:
  CascadeScorer(std::string name, std::unique_ptr<Scorer> gate, std::unique_ptr<Scorer> expensive, CascadeOptions o,
                std::shared_ptr<CascadeStats> stats)
      : name_(std::move(name)),
        gate_(std::move(gate)),
        expensive_(std::move(expensive)),
        o_(o),
        stats_(std::move(stats)) {}

  std::string name() const override { return name_; }
  std::vector<std::string> categories() const override { return expensive_->categories(); }

  ScoreResult score(std::string_view text, const std::vector<Span>& segments) override {
    std::vector<std::string> errors;
    auto r = score_batch({text}, {segments}, errors);
    if (!errors[0].empty()) throw ScoreError(errors[0]);
    return std::move(r[0]);
  }

  std::vector<ScoreResult> score_batch(const std::vector<std::string_view>& texts,
                                       const std::vector<std::vector<Span>>& segments,
                                       std::vector<std::string>& errors) override;

  std::unique_ptr<Scorer> clone() const override {
    return std::make_unique<CascadeScorer>(name_, gate_->clone(), expensive_->clone(), o_, stats_);
  }

  json report() const override {
    const double seg = double(stats_->segments), fwd = double(stats_->forwarded);
    const double held = seg - fwd, audited = double(stats_->audited);
    // bad segments the gate held back, estimated from the audited sample
    const double missed = audited > 0 ? double(stats_->bad_audited) * held / audited : 0.0;
    const double bad = double(stats_->bad_forwarded) + missed;
    json j = {{"segments", stats_->segments.load()},
              {"forwarded", stats_->forwarded.load()},
              {"fraction_forwarded", seg > 0 ? fwd / seg : 0.0},
              {"documents", stats_->documents.load()},
              {"documents_forwarded", stats_->documents_forwarded.load()},
              {"audited", stats_->audited.load()},
              {"bad_forwarded", stats_->bad_forwarded.load()},
              {"bad_in_audit", stats_->bad_audited.load()}};
    if (audited > 0) {
      j["recall_estimate"] = bad > 0 ? double(stats_->bad_forwarded) / bad : 1.0;
      j["recall_lost"] = bad > 0 ? missed / bad : 0.0;
    }
    json g = gate_->report(), e = expensive_->report();
    if (!g.is_null()) j["gate"] = g;
    if (!e.is_null()) j["scorer"] = e;
    return j;
  }

 private:
  // A pure function of (document text, segment offset): the same segments are
  // audited whatever the threads or batching; repeated boilerplate lines in
  // different documents are sampled independently.
  bool audit(uint64_t doc_hash, uint64_t begin) const {
    return o_.audit_fraction > 0 && hash_unit(o_.seed, hash_combine(doc_hash, begin)) < o_.audit_fraction;
  }

  std::string name_;
  std::unique_ptr<Scorer> gate_, expensive_;
  CascadeOptions o_;
  std::shared_ptr<CascadeStats> stats_;
};

// Details of the expensive scorer name segments by their index in the subset it
// was given: map them back to the document's segments, and drop those of audited
// segments (the audit does not change the output).
json remap_details(const json& details, const std::vector<size_t>& subset_to_doc, const std::vector<char>& forwarded) {
  if (!details.is_array()) return details;
  json out = json::array();
  for (const json& d : details) {
    if (d.is_object() && d.contains("segment") && d["segment"].is_number_unsigned() &&
        d["segment"].get<size_t>() < subset_to_doc.size()) {
      const size_t s = subset_to_doc[d["segment"].get<size_t>()];
      if (!forwarded[s]) continue;
      json m = d;
      m["segment"] = s;
      out.push_back(std::move(m));
    } else {
      out.push_back(d);
    }
  }
  return out;
}

std::vector<ScoreResult> CascadeScorer::score_batch(const std::vector<std::string_view>& texts,
                                                    const std::vector<std::vector<Span>>& segments,
                                                    std::vector<std::string>& errors) {
  const size_t D = texts.size();
  std::vector<ScoreResult> gate = gate_->score_batch(texts, segments, errors);
  // Per document: the segments the expensive scorer sees (forwarded, then audited ones in order).
  std::vector<std::vector<Span>> sub(D);
  std::vector<std::vector<size_t>> sub_index(D);
  std::vector<std::vector<char>> forwarded(D);
  for (size_t d = 0; d < D; ++d) {
    if (!errors[d].empty()) continue;
    const size_t S = segments[d].size();
    forwarded[d].assign(S, 0);
    bool any = false;
    for (size_t s = 0; s < S; ++s) any |= (forwarded[d][s] = gate[d].scores.at(s).at(0) > o_.gate_threshold);
    if (any && o_.whole_documents) forwarded[d].assign(S, 1);
    const uint64_t doc_hash = o_.audit_fraction > 0 ? fnv1a(texts[d]) : 0;
    for (size_t s = 0; s < S; ++s) {
      const Span& sp = segments[d][s];
      if (forwarded[d][s] || audit(doc_hash, sp.begin)) {
        sub[d].push_back(sp);
        sub_index[d].push_back(s);
      }
    }
    stats_->documents += 1;
    stats_->documents_forwarded += any;
  }
  std::vector<std::string> exp_errors;
  std::vector<ScoreResult> exp = expensive_->score_batch(texts, sub, exp_errors);
  const size_t C = expensive_->categories().size();
  std::vector<ScoreResult> out(D);
  for (size_t d = 0; d < D; ++d) {
    if (!errors[d].empty()) continue;
    if (!exp_errors[d].empty()) {
      errors[d] = exp_errors[d];
      continue;
    }
    if (exp[d].scores.size() != sub[d].size()) {
      errors[d] = "the expensive scorer returned " + std::to_string(exp[d].scores.size()) + " scores for " +
                  std::to_string(sub[d].size()) + " segments";
      continue;
    }
    const size_t S = segments[d].size();
    out[d].scores.assign(S, std::vector<float>(C, 0.f));
    uint64_t n_fwd = 0, n_audit = 0, bad_fwd = 0, bad_audit = 0;
    for (size_t k = 0; k < sub[d].size(); ++k) {
      const size_t s = sub_index[d][k];
      const bool bad = exp[d].scores[k].at(0) > o_.bad_threshold;
      if (forwarded[d][s]) {
        out[d].scores[s] = exp[d].scores[k];
        ++n_fwd;
        bad_fwd += bad;
      } else {
        ++n_audit;
        bad_audit += bad;
      }
    }
    stats_->segments += S;
    stats_->forwarded += n_fwd;
    stats_->audited += n_audit;
    stats_->bad_forwarded += bad_fwd;
    stats_->bad_audited += bad_audit;
    if (!exp[d].details.is_null() && !exp[d].details.empty())
      out[d].details = remap_details(exp[d].details, sub_index[d], forwarded[d]);
  }
  return out;
}

}  // namespace

std::unique_ptr<Scorer> make_cascade_scorer(const json& config, const std::string& where) {
  if (!config.is_object()) fail(where, "a scorer config must be a JSON object");
  static const char* known[] = {"type",          "name",           "gate", "gate_threshold", "scorer",
                                "bad_threshold", "audit_fraction", "seed", "forward"};
  for (auto it = config.begin(); it != config.end(); ++it) {
    bool ok = false;
    for (const char* k : known) ok = ok || it.key() == k;
    if (!ok)
      fail(where, "unknown field \"" + it.key() + "\" in a cascade scorer config",
           "known fields: type, name, gate, gate_threshold, scorer, bad_threshold, audit_fraction, seed, forward");
  }
  if (!config.contains("gate") || !config.contains("scorer"))
    fail(where, "a cascade needs \"gate\" (the cheap scorer) and \"scorer\" (the expensive one)",
         "e.g. {\"type\": \"cascade\", \"gate\": {\"type\": \"fasttext\", ...}, \"scorer\": {\"type\": \"pii\"}}");
  auto gate = make_scorer(config["gate"], where + ": gate");
  auto expensive = make_scorer(config["scorer"], where + ": scorer");
  if (gate->categories().size() != 1) fail(where + ": gate", "the gate must have exactly one score category");
  CascadeOptions o;
  o.gate_threshold = json_optional<double>(config, "gate_threshold", o.gate_threshold, where);
  o.bad_threshold = json_optional<double>(config, "bad_threshold", o.bad_threshold, where);
  o.audit_fraction = json_optional<double>(config, "audit_fraction", o.audit_fraction, where);
  o.seed = json_optional<uint64_t>(config, "seed", o.seed, where);
  const std::string forward = json_optional<std::string>(config, "forward", "segments", where);
  if (forward != "segments" && forward != "documents")
    fail(where, "field \"forward\" must be \"segments\" or \"documents\"",
         "documents: a document with any segment over the gate goes on whole (for per-document scorers)");
  o.whole_documents = forward == "documents";
  if (o.audit_fraction < 0 || o.audit_fraction > 1) fail(where, "field \"audit_fraction\" must be within [0, 1]");
  const std::string name = json_optional<std::string>(config, "name", expensive->name(), where);
  return std::make_unique<CascadeScorer>(name, std::move(gate), std::move(expensive), o,
                                         std::make_shared<CascadeStats>());
}

}  // namespace prealign
