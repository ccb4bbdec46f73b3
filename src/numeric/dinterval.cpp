#include "numeric/dinterval.hpp"

namespace attnbounds {

Interval DInterval::to_interval(mpfr_prec_t bits) const {
  Interval r(0L, bits);
  mpfi_interv_d(r.get(), lo_, hi_);
  return r;
}

// cos and sin go through MPFI: certified for any argument width, and rare in hot loops
// (constructions tabulate them once per value).
DInterval cos(DInterval a) {
  if (a.has_nan()) return DInterval::invalid();
  return DInterval::from_interval(cos(a.to_interval(64)));
}
DInterval sin(DInterval a) {
  if (a.has_nan()) return DInterval::invalid();
  return DInterval::from_interval(sin(a.to_interval(64)));
}

}  // namespace attnbounds
