#include "numeric/mpfr_real.hpp"

#include <algorithm>

namespace attnbounds {

namespace {
thread_local mpfr_prec_t tl_working_bits = 128;
}
mpfr_prec_t working_bits() { return tl_working_bits; }
WorkingPrecision::WorkingPrecision(mpfr_prec_t bits) : saved_(tl_working_bits) { tl_working_bits = bits; }
WorkingPrecision::~WorkingPrecision() { tl_working_bits = saved_; }

Rational MpfrReal::to_rational() const {
  Rational q;
  mpfr_get_q(q.get_mpq_t(), v_);
  return q;
}

std::string MpfrReal::to_string(int digits) const {
  char* buf = nullptr;
  mpfr_asprintf(&buf, "%.*RNg", digits, v_);
  std::string s(buf);
  mpfr_free_str(buf);
  return s;
}

namespace {
template <class Op>
MpfrReal binary(const MpfrReal& a, const MpfrReal& b, Op op) {
  MpfrReal r = MpfrReal::zero(std::max(a.precision(), b.precision()));
  op(r.get(), a.get(), b.get(), MPFR_RNDN);
  return r;
}
template <class Op>
MpfrReal unary(const MpfrReal& a, Op op) {
  MpfrReal r = MpfrReal::zero(a.precision());
  op(r.get(), a.get(), MPFR_RNDN);
  return r;
}
}  // namespace

MpfrReal operator+(const MpfrReal& a, const MpfrReal& b) { return binary(a, b, mpfr_add); }
MpfrReal operator-(const MpfrReal& a, const MpfrReal& b) { return binary(a, b, mpfr_sub); }
MpfrReal operator*(const MpfrReal& a, const MpfrReal& b) { return binary(a, b, mpfr_mul); }
MpfrReal operator/(const MpfrReal& a, const MpfrReal& b) { return binary(a, b, mpfr_div); }
MpfrReal operator-(const MpfrReal& a) { return unary(a, mpfr_neg); }
MpfrReal exp(const MpfrReal& a) { return unary(a, mpfr_exp); }
MpfrReal log(const MpfrReal& a) { return unary(a, mpfr_log); }
MpfrReal sqrt(const MpfrReal& a) { return unary(a, mpfr_sqrt); }
MpfrReal cos(const MpfrReal& a) { return unary(a, mpfr_cos); }
MpfrReal sin(const MpfrReal& a) { return unary(a, mpfr_sin); }
MpfrReal abs(const MpfrReal& a) { return unary(a, mpfr_abs); }
MpfrReal const_pi(mpfr_prec_t bits) {
  MpfrReal r = MpfrReal::zero(bits);
  mpfr_const_pi(r.get(), MPFR_RNDN);
  return r;
}

}  // namespace attnbounds
