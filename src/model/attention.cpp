#include "model/attention.hpp"

namespace attnbounds {

Mat<Rational> round_entries(const Mat<Rational>& m, const Format& fmt) {
  return Mat<Rational>::from(m, [&](const Rational& x) { return round_to(fmt, x); });
}

}  // namespace attnbounds
