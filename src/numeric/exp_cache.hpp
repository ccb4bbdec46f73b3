// A memoised exp of double intervals for loops that take the exponential of the same arguments
// many times (the DISJ → qSA reduction: every instance's attention row is built from a few
// distinct token rows).  exp of a DInterval is a pure function of its two endpoints, so a cached
// value is bit for bit the value exp would return: results do not change, only time.
// Direct-mapped and fixed in size: no allocation after construction, a collision just recomputes.
#pragma once
#include <array>
#include <bit>
#include <cstdint>
#include <memory>

#include "numeric/dinterval.hpp"

namespace attnbounds {

class DIntervalExpCache {
 public:
  static constexpr std::size_t kSlots = 4096;  // a power of two

  DIntervalExpCache() : slots_(std::make_unique<std::array<Slot, kSlots>>()) {}

  DInterval operator()(const DInterval& x) const {
    const std::uint64_t lo = std::bit_cast<std::uint64_t>(x.lower()), hi = std::bit_cast<std::uint64_t>(x.upper());
    Slot& s = (*slots_)[index(lo, hi)];
    if (s.used && s.lo == lo && s.hi == hi) {
      ++hits_;
      return s.value;
    }
    s = {lo, hi, exp(x), true};  // keys are bit patterns, so a NaN argument is cached like any other
    return s.value;
  }
  std::uint64_t hits() const { return hits_; }

 private:
  struct Slot {
    std::uint64_t lo = 0, hi = 0;
    DInterval value;
    bool used = false;
  };
  static std::size_t index(std::uint64_t lo, std::uint64_t hi) {
    std::uint64_t h = (lo ^ (hi * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;
    return static_cast<std::size_t>(h >> 52) & (kSlots - 1);
  }
  std::unique_ptr<std::array<Slot, kSlots>> slots_;
  mutable std::uint64_t hits_ = 0;
};

}  // namespace attnbounds
