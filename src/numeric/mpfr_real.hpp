// MPFR real with its precision in bits, fixed per value.
//
// Boost 1.74's mpfr_float keeps its default precision in a process-wide global measured in
// decimal digits, which is neither thread-safe nor exact in bits.  This thin RAII type keeps
// MPFR's own model: every value carries its precision, results take the larger precision of
// their operands, and every operation is correctly rounded to nearest.
#pragma once
#include <mpfr.h>

#include <string>

#include "numeric/rational.hpp"

namespace attnbounds {

// Thread-local working precision used by values built without an explicit precision
// (T(0), T(1) inside templated model code).  Set it with a scope, in bits.
mpfr_prec_t working_bits();
class WorkingPrecision {
 public:
  explicit WorkingPrecision(mpfr_prec_t bits);
  ~WorkingPrecision();
  WorkingPrecision(const WorkingPrecision&) = delete;
  WorkingPrecision& operator=(const WorkingPrecision&) = delete;

 private:
  mpfr_prec_t saved_;
};

class MpfrReal {
 public:
  MpfrReal() { mpfr_init2(v_, working_bits()); mpfr_set_zero(v_, 1); }
  static MpfrReal zero(mpfr_prec_t bits) { MpfrReal r(0L, bits); return r; }
  explicit MpfrReal(int n) : MpfrReal(static_cast<long>(n), working_bits()) {}
  explicit MpfrReal(double d) : MpfrReal(d, working_bits()) {}
  explicit MpfrReal(const Rational& q) : MpfrReal(q, working_bits()) {}
  MpfrReal(double d, mpfr_prec_t bits) { mpfr_init2(v_, bits); mpfr_set_d(v_, d, MPFR_RNDN); }
  MpfrReal(long n, mpfr_prec_t bits) { mpfr_init2(v_, bits); mpfr_set_si(v_, n, MPFR_RNDN); }
  MpfrReal(const Rational& q, mpfr_prec_t bits) { mpfr_init2(v_, bits); mpfr_set_q(v_, q.get_mpq_t(), MPFR_RNDN); }
  MpfrReal(const MpfrReal& o) { mpfr_init2(v_, mpfr_get_prec(o.v_)); mpfr_set(v_, o.v_, MPFR_RNDN); }
  MpfrReal(MpfrReal&& o) noexcept { mpfr_init2(v_, MPFR_PREC_MIN); mpfr_swap(v_, o.v_); }
  MpfrReal& operator=(const MpfrReal& o) {
    if (this != &o) { mpfr_set_prec(v_, mpfr_get_prec(o.v_)); mpfr_set(v_, o.v_, MPFR_RNDN); }
    return *this;
  }
  MpfrReal& operator=(MpfrReal&& o) noexcept { mpfr_swap(v_, o.v_); return *this; }
  ~MpfrReal() { mpfr_clear(v_); }

  mpfr_prec_t precision() const { return mpfr_get_prec(v_); }
  mpfr_ptr get() { return v_; }
  mpfr_srcptr get() const { return v_; }
  double to_double() const { return mpfr_get_d(v_, MPFR_RNDN); }
  Rational to_rational() const;  // exact (the value is a dyadic)
  std::string to_string(int digits = 20) const;

  friend MpfrReal operator+(const MpfrReal& a, const MpfrReal& b);
  friend MpfrReal operator-(const MpfrReal& a, const MpfrReal& b);
  friend MpfrReal operator*(const MpfrReal& a, const MpfrReal& b);
  friend MpfrReal operator/(const MpfrReal& a, const MpfrReal& b);
  friend MpfrReal operator-(const MpfrReal& a);
  MpfrReal& operator+=(const MpfrReal& b) { mpfr_add(v_, v_, b.v_, MPFR_RNDN); return *this; }
  MpfrReal& operator-=(const MpfrReal& b) { mpfr_sub(v_, v_, b.v_, MPFR_RNDN); return *this; }
  MpfrReal& operator*=(const MpfrReal& b) { mpfr_mul(v_, v_, b.v_, MPFR_RNDN); return *this; }
  MpfrReal& operator/=(const MpfrReal& b) { mpfr_div(v_, v_, b.v_, MPFR_RNDN); return *this; }
  friend bool operator<(const MpfrReal& a, const MpfrReal& b) { return mpfr_less_p(a.v_, b.v_); }
  friend bool operator>(const MpfrReal& a, const MpfrReal& b) { return mpfr_greater_p(a.v_, b.v_); }
  friend bool operator<=(const MpfrReal& a, const MpfrReal& b) { return mpfr_lessequal_p(a.v_, b.v_); }
  friend bool operator==(const MpfrReal& a, const MpfrReal& b) { return mpfr_equal_p(a.v_, b.v_); }

 private:
  mpfr_t v_;
};

MpfrReal exp(const MpfrReal& a);
MpfrReal log(const MpfrReal& a);
MpfrReal sqrt(const MpfrReal& a);
MpfrReal cos(const MpfrReal& a);
MpfrReal sin(const MpfrReal& a);
MpfrReal abs(const MpfrReal& a);
MpfrReal const_pi(mpfr_prec_t bits);

}  // namespace attnbounds
