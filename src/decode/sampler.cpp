// The sampler chain. Candidates start in id order so the policy stage can ban
// by index in O(#tags); only stages that need an order sort, and then only as
// far as they need (partial sort for top-k, growing prefixes for top-p).
#include "decode/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "decode/temptation.hpp"

namespace prealign {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

bool before(const Candidate& a, const Candidate& b) { return a.logit > b.logit || (a.logit == b.logit && a.id < b.id); }

[[noreturn]] void all_banned() {
  fail("sampler", "every candidate token is banned in this state",
       "the policy bans every tag and EOS here and the vocabulary has no other tokens; allow a tag or set "
       "\"end\": true in this state");
}

}  // namespace

// ---- Candidates -------------------------------------------------------------

void Candidates::reset(const float* logits, int vocab_size) {
  items.resize(static_cast<size_t>(vocab_size));
  for (int i = 0; i < vocab_size; ++i) {
    const float l = logits[i];
    items[static_cast<size_t>(i)] = Candidate{i, std::isnan(l) ? kNegInf : l, 0.f};
  }
  id_order = true;
  sorted = false;
  selected = -1;
}

void Candidates::softmax() {
  const size_t n = items.size();
  scratch.resize(n);
  float m = kNegInf;
  for (size_t i = 0; i < n; ++i) {
    scratch[i] = items[i].logit;
    m = std::max(m, scratch[i]);
  }
  if (m == kNegInf) all_banned();
  if (m == -kNegInf)  // +inf would turn every probability into NaN
    fail("sampler", "a candidate's logit is +inf", "the temperature may be too small for these logits");
  exp_shifted(scratch.data(), m, scratch.data(), static_cast<int>(n));
  double sum = 0.0;
  for (size_t i = 0; i < n; ++i) {
    if (items[i].logit == kNegInf) scratch[i] = 0.f;  // banned stays exactly impossible
    sum += scratch[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (size_t i = 0; i < n; ++i) items[i].p = scratch[i] * inv;
}

void Candidates::sort_top(size_t k) {
  if (sorted) return;
  id_order = false;
  if (k >= items.size()) {
    std::sort(items.begin(), items.end(), before);
    sorted = true;
  } else {
    std::partial_sort(items.begin(), items.begin() + static_cast<std::ptrdiff_t>(k), items.end(), before);
  }
}

void Candidates::truncate(size_t n) {
  if (n >= items.size()) return;
  items.resize(n);
  id_order = false;
}

// ---- PolicyStage ------------------------------------------------------------

PolicyStage::PolicyStage(const Policy& policy) : first_(&policy), policy_(&policy), state_(policy.initial_state()) {}

void PolicyStage::apply(Candidates& c, Rng& /*rng*/) {
  const Policy& policy = *policy_;
  const PolicyState& st = policy.state(state_);
  const std::map<int, float>* const bias_maps[] = {&policy.bias(), &added_};  // the policy's, then the rules'
  if (c.id_order) {  // the usual case: index by id
    const int n = static_cast<int>(c.items.size());
    for (int t : st.banned)
      if (t < n) c.items[static_cast<size_t>(t)].logit = kNegInf;
    const int eos = policy.eos_id();
    if (!st.end_allowed && eos >= 0 && eos < n) c.items[static_cast<size_t>(eos)].logit = kNegInf;
    for (const std::map<int, float>* biases : bias_maps)
      for (const auto& [id, b] : *biases)
        if (id < n && !policy.is_banned(state_, id)) c.items[static_cast<size_t>(id)].logit += b;
    return;
  }
  // An earlier stage reordered the candidates: look every one up (O(V log #tags)).
  for (Candidate& cand : c.items) {
    if (policy.is_banned(state_, cand.id)) {
      cand.logit = kNegInf;
      continue;
    }
    for (const std::map<int, float>* biases : bias_maps) {
      auto b = biases->find(cand.id);
      if (b != biases->end()) cand.logit += b->second;
    }
  }
  c.sorted = false;  // biases may have changed the order
}

void PolicyStage::accept(int token) { state_ = policy_->next_state(state_, token); }

void PolicyStage::reset() {
  policy_ = first_;
  state_ = policy_->initial_state();
  added_.clear();
}

void PolicyStage::switch_policy(const Policy& policy, int state) {
  policy.state(state);  // Error for a state it does not have
  policy_ = &policy;
  state_ = state;
  added_.clear();
}

void PolicyStage::add_bias(int token, float delta) {
  if (token < 0 || token >= policy_->vocab_size())
    fail("policy " + policy_->name(), "bias for token " + std::to_string(token) + ", outside the vocabulary");
  added_[token] += delta;
}

void PolicyStage::remove_added_bias(int token) { added_.erase(token); }

float PolicyStage::bias_of(int token) const {
  float b = 0.f;
  for (const std::map<int, float>* biases : {&policy_->bias(), &added_}) {
    auto it = biases->find(token);
    if (it != biases->end()) b += it->second;
  }
  return b;
}

// ---- stages -----------------------------------------------------------------

namespace {

class Temperature : public SamplerStage {
 public:
  explicit Temperature(float t) : t_(t) {
    if (!(t > 0.f) || !std::isfinite(t))
      fail("temperature", "must be a positive number, got " + std::to_string(t),
           "use greedy decoding for temperature 0");
  }
  const char* name() const override { return "temperature"; }
  void apply(Candidates& c, Rng&) override {
    if (t_ == 1.f) return;
    const float inv = 1.f / t_;
    for (Candidate& cand : c.items) cand.logit *= inv;  // -inf stays -inf; order is kept
  }

 private:
  float t_;
};

class MinLength : public SamplerStage {
 public:
  MinLength(int eos, int min_length, int already) : eos_(eos), min_(min_length), already_(already), count_(already) {}
  const char* name() const override { return "min_length"; }
  void apply(Candidates& c, Rng&) override {
    if (count_ >= min_ || eos_ < 0) return;
    if (c.id_order) {
      if (static_cast<size_t>(eos_) < c.items.size()) c.items[static_cast<size_t>(eos_)].logit = kNegInf;
      return;
    }
    for (Candidate& cand : c.items)
      if (cand.id == eos_) cand.logit = kNegInf;
  }
  void accept(int) override { ++count_; }
  void reset() override { count_ = already_; }

 private:
  int eos_, min_, already_, count_;
};

class TopK : public SamplerStage {
 public:
  explicit TopK(int k) : k_(k) {}
  const char* name() const override { return "top_k"; }
  void apply(Candidates& c, Rng&) override {
    if (k_ <= 0 || static_cast<size_t>(k_) >= c.items.size()) return;
    c.sort_top(static_cast<size_t>(k_));
    c.truncate(static_cast<size_t>(k_));
    c.sorted = true;  // the kept prefix is sorted
  }

 private:
  int k_;
};

// Keeps the smallest set of most likely candidates whose mass reaches p.
// Sorting a near-uniform vocabulary for this costs more than a forward pass, so
// large candidate sets are first bucketed by distance to the max logit (one
// pass); only the bucket where the mass crosses p is sorted.
class TopP : public SamplerStage {
 public:
  explicit TopP(float p) : p_(p) {
    if (!(p > 0.f && p <= 1.f)) fail("top_p", "must be in (0, 1], got " + std::to_string(p));
  }
  const char* name() const override { return "top_p"; }
  void apply(Candidates& c, Rng&) override {
    if (p_ >= 1.f || c.items.size() <= 1) return;
    c.softmax();
    if (c.items.size() <= 256) {
      c.sort_top(c.items.size());
      cut_sorted(c, 0, 0.0);
      return;
    }
    // Buckets span the finite logits (at most kRange nats below the max), so a
    // near-uniform distribution still spreads over all of them.
    float m = kNegInf, lo = std::numeric_limits<float>::infinity();
    for (const Candidate& x : c.items) {
      m = std::max(m, x.logit);
      if (x.logit != kNegInf) lo = std::min(lo, x.logit);
    }
    const float range = std::min(kRange, m - lo) * 1.0001f + 1e-6f;  // the smallest logit stays inside
    const float scale = (kBuckets - 1) / range;
    const auto bucket = [m, scale](const Candidate& x) {
      const float d = (m - x.logit) * scale;  // -inf logits: d = inf
      return d < kBuckets - 1 ? static_cast<int>(d) : kBuckets - 1;
    };
    double mass[kBuckets] = {0};
    for (const Candidate& x : c.items) mass[bucket(x)] += x.p;
    int cross = 0;
    double before_cross = 0.0;
    while (cross < kBuckets && before_cross + mass[cross] < p_) before_cross += mass[cross++];
    if (cross == kBuckets) return;  // rounding left the total below p: keep everything
    // [buckets before `cross`][bucket `cross`, sorted][the rest]
    auto first = c.items.begin();
    auto mid = std::partition(first, c.items.end(), [&](const Candidate& x) { return bucket(x) < cross; });
    auto end = std::partition(mid, c.items.end(), [&](const Candidate& x) { return bucket(x) == cross; });
    std::sort(mid, end, before);
    c.id_order = false;
    c.sorted = false;
    cut_sorted(c, static_cast<size_t>(mid - first), before_cross);
  }

 private:
  static constexpr int kBuckets = 256;
  static constexpr float kRange = 32.f;  // nats below the max; beyond it p < 1e-13 (last bucket)

  // items[from..] are sorted descending and `mass` lies before them: keep up
  // to the first item that brings the mass to p.
  void cut_sorted(Candidates& c, size_t from, double mass) const {
    for (size_t i = from; i < c.items.size(); ++i) {
      mass += c.items[i].p;
      if (mass >= p_) {
        c.truncate(i + 1);
        return;
      }
    }
  }

  float p_;
};

class Greedy : public SamplerStage {
 public:
  const char* name() const override { return "greedy"; }
  void apply(Candidates& c, Rng&) override {
    if (c.items.empty()) all_banned();
    size_t best = 0;
    if (!c.sorted)
      for (size_t i = 1; i < c.items.size(); ++i)
        if (before(c.items[i], c.items[best])) best = i;
    c.softmax();  // reports the argmax's probability; errors if everything is banned
    c.selected = static_cast<int>(best);
  }
};

class Distribution : public SamplerStage {
 public:
  const char* name() const override { return "distribution"; }
  void apply(Candidates& c, Rng& rng) override {
    if (c.items.empty()) all_banned();
    c.softmax();
    // 53 random bits -> [0, 1): the same on every platform, unlike std::uniform_real_distribution.
    const double u = static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
    double cum = 0.0;
    int last_positive = -1;
    for (size_t i = 0; i < c.items.size(); ++i) {
      if (c.items[i].p <= 0.f) continue;
      last_positive = static_cast<int>(i);
      cum += c.items[i].p;
      if (u < cum) {
        c.selected = static_cast<int>(i);
        return;
      }
    }
    c.selected = last_positive;  // u fell in the rounding gap above the last sum
  }
};

}  // namespace

std::unique_ptr<SamplerStage> make_temperature(float temperature) { return std::make_unique<Temperature>(temperature); }
std::unique_ptr<SamplerStage> make_top_k(int k) { return std::make_unique<TopK>(k); }
std::unique_ptr<SamplerStage> make_min_length(int eos_id, int min_length, int already) {
  return std::make_unique<MinLength>(eos_id, min_length, already);
}
std::unique_ptr<SamplerStage> make_top_p(float p) { return std::make_unique<TopP>(p); }
std::unique_ptr<SamplerStage> make_greedy() { return std::make_unique<Greedy>(); }
std::unique_ptr<SamplerStage> make_distribution() { return std::make_unique<Distribution>(); }

// ---- SamplerChain -----------------------------------------------------------

int SamplerChain::sample(const float* logits, int vocab_size, Rng& rng, float* chosen_p) {
  if (vocab_size <= 0) fail("sampler", "empty vocabulary");
  cand_.reset(logits, vocab_size);
  for (auto& stage : stages_) stage->apply(cand_, rng);
  if (cand_.selected < 0 || static_cast<size_t>(cand_.selected) >= cand_.items.size())
    fail("sampler chain", "no stage chose a token", "end the chain with make_greedy() or make_distribution()");
  const Candidate& c = cand_.items[static_cast<size_t>(cand_.selected)];
  if (chosen_p) *chosen_p = c.p;
  return c.id;
}

void SamplerChain::accept(int token) {
  for (auto& stage : stages_) stage->accept(token);
}

void SamplerChain::reset() {
  for (auto& stage : stages_) stage->reset();
}

}  // namespace prealign
