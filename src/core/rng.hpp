// Deterministic randomness: stateless hashes for per-item decisions (so a
// decision does not depend on iteration order or on resuming) and a seeded
// engine for sequential draws.
#pragma once
#include <cstdint>
#include <random>

namespace prealign {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

inline uint64_t hash_combine(uint64_t a, uint64_t b) { return splitmix64(a ^ splitmix64(b)); }

// Uniform in [0, 1), a pure function of (seed, key).
inline double hash_unit(uint64_t seed, uint64_t key) {
  return static_cast<double>(hash_combine(seed, key) >> 11) * (1.0 / 9007199254740992.0);
}

using Rng = std::mt19937_64;

}  // namespace prealign
