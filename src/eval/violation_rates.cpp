#include "eval/violation_rates.hpp"

#include <map>
#include <numeric>
#include <set>

#include "eval/stats.hpp"

namespace prealign {
namespace {

// Violations per 1,000 characters over the samples whose indices are given
// (as doubles: the bootstrap resamples values), of one code or group.
Estimate rate_per_1k(const std::vector<double>& counts, const std::vector<double>& chars, int resamples,
                     uint64_t seed) {
  std::vector<double> index(counts.size());
  std::iota(index.begin(), index.end(), 0.0);
  auto rate = [&](const std::vector<double>& idx) {
    double v = 0, c = 0;
    for (double i : idx) {
      v += counts[static_cast<size_t>(i)];
      c += chars[static_cast<size_t>(i)];
    }
    return c > 0 ? 1000.0 * v / c : 0.0;
  };
  return bootstrap(index, rate, resamples, 0.95, seed);
}

ordered_json with_count(const Estimate& e, uint64_t count) {
  ordered_json j = e.to_json();
  j["count"] = count;
  return j;
}

}  // namespace

ordered_json violation_rates(const std::vector<CodeCheck>& checks, int resamples, uint64_t seed) {
  std::vector<const CodeCheck*> ok;
  for (const auto& c : checks)
    if (c.checked) ok.push_back(&c);
  std::set<std::string> codes;
  uint64_t compiled = 0, total_chars = 0;
  std::vector<double> chars;
  for (const CodeCheck* c : ok) {
    for (const auto& kv : c->codes) codes.insert(kv.first);
    compiled += c->compiles ? 1 : 0;
    total_chars += c->chars;
    chars.push_back(double(c->chars));
  }
  ordered_json out;
  out["checked"] = ok.size();
  out["unchecked"] = checks.size() - ok.size();
  out["chars"] = total_chars;
  ordered_json compiles = wilson_interval(compiled, ok.size()).to_json();
  compiles["count"] = compiled;
  out["compiles"] = compiles;

  // Per code, and per group: a sample's count of a group is the sum of its codes in it.
  std::map<std::string, std::vector<double>> group_counts;
  for (const char* g : {"style", "structure", "other", "all"}) group_counts[g].assign(ok.size(), 0.0);
  ordered_json per_code = ordered_json::object();
  uint64_t s = seed;
  for (const std::string& code : codes) {
    std::vector<double> counts(ok.size(), 0.0);
    uint64_t n = 0;
    for (size_t i = 0; i < ok.size(); ++i) {
      auto it = ok[i]->codes.find(code);
      if (it == ok[i]->codes.end()) continue;
      counts[i] = double(it->second);
      n += it->second;
      group_counts[code_group(code)][i] += counts[i];
      group_counts["all"][i] += counts[i];
    }
    ordered_json j = with_count(rate_per_1k(counts, chars, resamples, s++), n);
    j["group"] = code_group(code);
    per_code[code] = j;
  }
  ordered_json groups;
  for (const char* g : {"style", "structure", "other", "all"}) {
    const auto& v = group_counts[g];
    groups[g] = with_count(rate_per_1k(v, chars, resamples, s++),
                           static_cast<uint64_t>(std::accumulate(v.begin(), v.end(), 0.0)));
  }
  out["groups"] = groups;
  out["per_1k_chars"] = per_code;
  return out;
}

}  // namespace prealign
