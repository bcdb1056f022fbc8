// A seeded permutation of [0, n) computed one index at a time, in O(1) memory:
// the visiting order of a dataset's documents in one epoch. A balanced Feistel
// network over the smallest power-of-four domain that holds n (so a bijection),
// restricted to [0, n) by cycle walking (a value that lands outside the range is
// permuted again; the domain is under 4n, so this takes few rounds on average).
// Why not a shuffled array: that costs 8 bytes per document resident for the
// whole run, and training's memory must not grow with the corpus.
#pragma once
#include <cstdint>

#include "core/rng.hpp"

namespace prealign {

class Permutation {
 public:
  Permutation(uint64_t n, uint64_t key) : n_(n) {
    while (half_bits_ < 32 && (uint64_t(1) << (2 * half_bits_)) < n_) ++half_bits_;
    mask_ = (uint64_t(1) << half_bits_) - 1;
    for (int r = 0; r < kRounds; ++r) keys_[r] = hash_combine(key, 0xfe157e1ULL + r);
  }
  uint64_t size() const { return n_; }
  // The position-i element of the permuted order; i < size().
  uint64_t operator()(uint64_t i) const {
    if (n_ <= 1) return i;
    do i = encrypt(i);
    while (i >= n_);
    return i;
  }

 private:
  static constexpr int kRounds = 4;
  uint64_t encrypt(uint64_t x) const {
    uint64_t left = x >> half_bits_, right = x & mask_;
    for (int r = 0; r < kRounds; ++r) {
      const uint64_t next = left ^ (splitmix64(right ^ keys_[r]) & mask_);
      left = right;
      right = next;
    }
    return (left << half_bits_) | right;
  }
  uint64_t n_;
  int half_bits_ = 1;
  uint64_t mask_ = 1;
  uint64_t keys_[kRounds];
};

}  // namespace prealign
