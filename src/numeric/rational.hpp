// Exact rationals (GMP).  Everything the toolkit calls "exact" is computed with these.
#pragma once
#include <gmpxx.h>
#include <string>
#include <string_view>

namespace attnbounds {

using Rational = mpq_class;
using Integer = mpz_class;

// Parses "3", "-2/7", "0.125", "1e-3", "-1.5e2" exactly.  Throws std::invalid_argument.
Rational parse_rational(std::string_view text);

// "p/q" (or "p" when q = 1), canonical form.  Replayable exactly.
std::string to_exact_string(const Rational& r);

// Decimal string with `digits` significant digits, rounded in the given direction
// (-1 toward -inf, 0 nearest, +1 toward +inf).  Used for lower/upper bounds in reports.
std::string to_decimal_string(const Rational& r, int digits = 17, int direction = 0);

// Exact decimal expansion if the denominator is 2^a 5^b, otherwise "p/q".
std::string to_exact_decimal_or_fraction(const Rational& r);

}  // namespace attnbounds
