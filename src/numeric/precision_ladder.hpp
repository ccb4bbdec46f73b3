// The one precision ladder: every loop that raises a working precision until an enclosure
// decides (a case of a sweep, a witness's forward pass, the certified rounding of a real) runs
// through raise_precision, on one of the named ladders below.  Only the top-level caller chooses
// the ladder; the functions it calls take the precision they are given.
#pragma once
#include <mpfr.h>

namespace attnbounds {

// The ladder of the certified checkers: start, doubling, ceiling (bits).
inline constexpr mpfr_prec_t kLadderStartBits = 128;
inline constexpr mpfr_prec_t kLadderCeilingBits = 4096;

// The rungs of a ladder: start, doubling, up to the ceiling (both in bits).
struct PrecisionLadder {
  mpfr_prec_t start = kLadderStartBits, ceiling = kLadderCeilingBits;
};
// The ladder of a witness's forward pass: a failing case is re-verified from its concrete input,
// where enclosures of e^-(large score) need more bits than a case's evaluation does.
inline constexpr PrecisionLadder kWitnessLadder{256, 65536};
// The ladder of certified rounding (format.hpp round_certified, nearest doubles of irrational
// constants): a real lies at a positive distance from every rounding boundary, and 65536 bits
// separate it unless it is within 2^-65000 of one (then the rounding is reported undecided).
inline constexpr PrecisionLadder kRoundingLadder{128, 65536};

// Runs attempt(bits) along the ladder (128, 256, ... 4096 unless told) until it returns true.
// Returns whether it did.
template <class Attempt>
bool raise_precision(Attempt&& attempt, PrecisionLadder ladder = {}) {
  for (mpfr_prec_t bits = ladder.start; bits <= ladder.ceiling; bits *= 2)
    if (attempt(bits)) return true;
  return false;
}

}  // namespace attnbounds
