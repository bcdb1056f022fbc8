// The cascade scorer: forwarded segments get the expensive scorer's scores, the
// rest 0; the report's fraction forwarded and recall lost against running the
// expensive scorer on every segment, computed here independently.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "score/scorer.hpp"
#include "score_helpers.hpp"

using namespace prealign;
using namespace prealign::testing;

namespace {

// Cheap gate: a lexicon of words that tend to come with contact details.
json gate_config() {
  return {{"type", "lexicon"},
          {"name", "gate"},
          {"mode", "max_weight"},
          {"entries",
           {{{"term", "mail"}, {"weight", 1.0}},
            {{"term", "call"}, {"weight", 1.0}},
            {{"term", "contact"}, {"weight", 0.3}}}}};
}

json cascade_config(double audit, const std::string& forward = "segments") {
  return {{"type", "cascade"},
          {"name", "pii"},
          {"gate", gate_config()},
          {"gate_threshold", 0.5},
          {"scorer", {{"type", "pii"}, {"name", "pii"}, {"details", true}}},
          {"audit_fraction", audit},
          {"forward", forward}};
}

std::vector<std::string> documents() {
  std::vector<std::string> docs;
  for (int i = 0; i < 40; ++i) {
    std::string t;
    t += "Mail me at user" + std::to_string(i) + "@example.com today.\n";              // gate hit, pii
    t += "Nothing here at all.\n";                                                     // neither
    t += "Or call 212-555-01" + std::to_string(10 + i % 80) + " soon.\n";              // gate hit, pii
    if (i % 4 == 0) t += "Reach bob" + std::to_string(i) + "@example.org instead.\n";  // pii the gate misses
    if (i % 5 == 0) t += "Contact us by mail, politely.\n";                            // gate hit, no pii
    docs.push_back(t);
  }
  return docs;
}

struct Direct {
  uint64_t segments = 0, forwarded = 0, bad = 0, bad_forwarded = 0;
};

}  // namespace

TEST(Cascade, ScoresForwardedSegmentsAndMeasuresRecallLost) {
  auto cascade = make_scorer(cascade_config(1.0), "test");
  auto gate = make_scorer(gate_config(), "test");
  auto pii = make_scorer({{"type", "pii"}, {"name", "pii"}}, "test");
  EXPECT_EQ(cascade->categories(), std::vector<std::string>{"pii"});
  Direct want;
  auto worker = cascade->clone();  // clones share the report's totals
  for (const std::string& t : documents()) {
    std::vector<Span> spans = segment_text(t, SegmenterKind::Line);
    ScoreResult c = worker->score(t, spans), g = gate->score(t, spans), p = pii->score(t, spans);
    for (size_t s = 0; s < spans.size(); ++s) {
      const bool fwd = g.scores[s][0] > 0.5, bad = p.scores[s][0] > 0;
      EXPECT_EQ(c.scores[s][0], fwd ? p.scores[s][0] : 0.f) << t;
      ++want.segments;
      want.forwarded += fwd;
      want.bad += bad;
      want.bad_forwarded += fwd && bad;
    }
    for (const json& d : c.details) {  // details name the document's segments, forwarded ones only
      const size_t s = d["segment"].get<size_t>();
      EXPECT_GT(g.scores[s][0], 0.5);
      EXPECT_GE(d["start"].get<uint64_t>(), spans[s].begin);
      EXPECT_LT(d["start"].get<uint64_t>(), spans[s].end);
    }
  }
  json r = cascade->report();
  EXPECT_EQ(r["segments"], want.segments);
  EXPECT_EQ(r["forwarded"], want.forwarded);
  EXPECT_NEAR(r["fraction_forwarded"].get<double>(), double(want.forwarded) / double(want.segments), 1e-12);
  EXPECT_EQ(r["audited"], want.segments - want.forwarded);  // audit 1.0: everything held back is checked
  EXPECT_NEAR(r["recall_lost"].get<double>(), 1.0 - double(want.bad_forwarded) / double(want.bad), 1e-12);
  EXPECT_GT(r["recall_lost"].get<double>(), 0.0);  // the e-mails without "mail" are missed
  EXPECT_LT(want.forwarded, want.segments);
}

TEST(Cascade, PartialAuditEstimatesAndDocumentForwarding) {
  auto half = make_scorer(cascade_config(0.5), "test");
  auto docs = make_scorer(cascade_config(0.0, "documents"), "test");
  auto gate = make_scorer(gate_config(), "test");
  auto pii = make_scorer({{"type", "pii"}, {"name", "pii"}}, "test");
  uint64_t held = 0;
  for (const std::string& t : documents()) {
    std::vector<Span> spans = segment_text(t, SegmenterKind::Line);
    ScoreResult h = half->score(t, spans), d = docs->score(t, spans), p = pii->score(t, spans);
    ScoreResult g = gate->score(t, spans);
    bool any = false;
    for (size_t s = 0; s < spans.size(); ++s) {
      any |= g.scores[s][0] > 0.5;
      held += g.scores[s][0] <= 0.5;
      EXPECT_EQ(h.scores[s][0], g.scores[s][0] > 0.5 ? p.scores[s][0] : 0.f);  // the audit never changes output
    }
    for (size_t s = 0; s < spans.size(); ++s) EXPECT_EQ(d.scores[s][0], any ? p.scores[s][0] : 0.f);
  }
  json r = half->report();
  const double audited = r["audited"].get<double>();
  EXPECT_GT(audited, 0.2 * double(held));
  EXPECT_LT(audited, 0.8 * double(held));
  EXPECT_TRUE(r.contains("recall_lost"));
  EXPECT_FALSE(docs->report().contains("recall_lost"));  // no audit, no estimate
  EXPECT_EQ(docs->report()["fraction_forwarded"], 1.0);  // every document has a gate hit
}

TEST(Cascade, ConfigErrors) {
  EXPECT_THROW(make_scorer({{"type", "cascade"}, {"gate", gate_config()}}, "t"), Error);
  json c = cascade_config(0.0);
  c["audit_fraction"] = 2.0;
  EXPECT_THROW(make_scorer(c, "t"), Error);
  c = cascade_config(0.0);
  c["gaet_threshold"] = 0.1;
  EXPECT_THROW(make_scorer(c, "t"), Error);
}
