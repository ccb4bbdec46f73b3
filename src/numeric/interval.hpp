// Certified real intervals (MPFI): every operation returns an enclosure of the exact result.
// Precision is in bits and carried by each value; results take the larger operand precision.
#pragma once
#include <mpfi.h>

#include <string>

#include "numeric/mpfr_real.hpp"
#include "numeric/rational.hpp"

namespace attnbounds {

class Interval {
 public:
  Interval() { mpfi_init2(v_, working_bits()); mpfi_set_si(v_, 0); }
  explicit Interval(int n) : Interval(static_cast<long>(n), working_bits()) {}
  explicit Interval(double d) : Interval(d, working_bits()) {}
  explicit Interval(const Rational& q) : Interval(q, working_bits()) {}
  Interval(long n, mpfr_prec_t bits) { mpfi_init2(v_, bits); mpfi_set_si(v_, n); }
  Interval(double d, mpfr_prec_t bits) { mpfi_init2(v_, bits); mpfi_set_d(v_, d); }
  Interval(const Rational& q, mpfr_prec_t bits) { mpfi_init2(v_, bits); mpfi_set_q(v_, q.get_mpq_t()); }
  // The hull [lo, hi]; requires lo <= hi.
  Interval(const Rational& lo, const Rational& hi, mpfr_prec_t bits);
  Interval(const Interval& o) { mpfi_init2(v_, mpfi_get_prec(o.v_)); mpfi_set(v_, o.v_); }
  Interval(Interval&& o) noexcept { mpfi_init2(v_, MPFR_PREC_MIN); mpfi_swap(v_, o.v_); }
  Interval& operator=(const Interval& o) {
    if (this != &o) { mpfi_set_prec(v_, mpfi_get_prec(o.v_)); mpfi_set(v_, o.v_); }
    return *this;
  }
  Interval& operator=(Interval&& o) noexcept { mpfi_swap(v_, o.v_); return *this; }
  ~Interval() { mpfi_clear(v_); }

  mpfr_prec_t precision() const { return mpfi_get_prec(v_); }
  mpfi_ptr get() { return v_; }
  mpfi_srcptr get() const { return v_; }

  // Exact endpoints.  Throw std::domain_error when the endpoint is infinite or NaN (e.g. after
  // dividing by an interval that contains 0): check is_finite() first where that can happen.
  Rational lower() const;
  Rational upper() const;
  // Rational bounds that stay cheap: the exact endpoints, except that an endpoint of magnitude
  // below 2^min_exp (an exp that underflowed to MPFR's smallest number, 2^-(2^30), would need a
  // billion-bit denominator) is moved outward to 0 or ±2^min_exp.  Always lower <= x <= upper.
  struct Bounds {
    Rational lower, upper;
  };
  Bounds widened_bounds(long min_exp = -4096) const;
  bool is_finite() const;  // both endpoints finite (and not NaN)
  double lower_double() const;  // rounded down
  double upper_double() const;  // rounded up
  double mid_double() const;
  double width_double() const;  // rounded up
  bool contains(const MpfrReal& x) const { return mpfi_is_inside_fr(x.get(), v_) > 0; }
  bool contains(const Rational& x) const { return mpfi_is_inside_q(x.get_mpq_t(), v_) > 0; }
  bool overlaps(const Interval& o) const;
  // Identical endpoints, compared as MPFR numbers (no rational conversion).
  bool same_endpoints(const Interval& o) const {
    return mpfr_equal_p(&v_->left, &o.v_->left) && mpfr_equal_p(&v_->right, &o.v_->right);
  }
  bool is_empty() const { return mpfi_is_empty(v_) != 0; }
  // Left endpoint as a point interval (exact): used to shift scores before exp.
  Interval lower_point() const;
  Interval upper_point() const;
  std::string to_string(int digits = 17) const;

  Interval& operator+=(const Interval& b) { mpfi_add(v_, v_, b.v_); return *this; }
  Interval& operator-=(const Interval& b) { mpfi_sub(v_, v_, b.v_); return *this; }
  Interval& operator*=(const Interval& b) { mpfi_mul(v_, v_, b.v_); return *this; }
  Interval& operator/=(const Interval& b) { mpfi_div(v_, v_, b.v_); return *this; }

 private:
  mpfi_t v_;
};

Interval operator+(const Interval& a, const Interval& b);
Interval operator-(const Interval& a, const Interval& b);
Interval operator*(const Interval& a, const Interval& b);
Interval operator/(const Interval& a, const Interval& b);
Interval operator-(const Interval& a);
Interval exp(const Interval& a);
Interval log(const Interval& a);
Interval sqrt(const Interval& a);
Interval cos(const Interval& a);
Interval sin(const Interval& a);
Interval abs(const Interval& a);
// x² as one operation: never negative, unlike x * x on an interval that straddles 0.
Interval sqr(const Interval& a);
Interval hull(const Interval& a, const Interval& b);
Interval pi_interval(mpfr_prec_t bits);

// Certain comparisons: true only when every point of a satisfies the relation.
bool certainly_less(const Interval& a, const Interval& b);
bool certainly_less_equal(const Interval& a, const Interval& b);
// max by upper endpoint then lower; for choosing a softmax shift only.
bool upper_less(const Interval& a, const Interval& b);

}  // namespace attnbounds
