#include "numeric/rational.hpp"

#include <mpfr.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace attnbounds {

Rational parse_rational(std::string_view text) {
  std::string s(text);
  if (s.empty()) throw std::invalid_argument("empty number");
  auto slash = s.find('/');
  if (slash != std::string::npos) {
    Integer num, den;
    // GMP's set_str ignores white space ("1 2/3" would read 12/3): allow only [+-]digits.
    auto is_integer = [](const std::string& t) {
      std::size_t i = (!t.empty() && (t[0] == '+' || t[0] == '-')) ? 1 : 0;
      if (i == t.size()) return false;
      for (; i < t.size(); ++i)
        if (t[i] < '0' || t[i] > '9') return false;
      return true;
    };
    std::string num_text = s.substr(0, slash), den_text = s.substr(slash + 1);
    if (!num_text.empty() && num_text[0] == '+') num_text.erase(0, 1);
    if (!den_text.empty() && den_text[0] == '+') den_text.erase(0, 1);
    if (!is_integer(s.substr(0, slash)) || !is_integer(s.substr(slash + 1)) || num.set_str(num_text, 10) != 0 ||
        den.set_str(den_text, 10) != 0)
      throw std::invalid_argument("malformed rational '" + s + "'");
    if (den == 0) throw std::invalid_argument("zero denominator in '" + s + "'");
    Rational r(num, den);
    r.canonicalize();
    return r;
  }
  // Decimal with optional exponent.
  std::size_t pos = 0;
  bool neg = false;
  if (s[pos] == '+' || s[pos] == '-') neg = s[pos++] == '-';
  std::string digits;
  long frac_digits = 0;
  bool seen_dot = false, any = false;
  for (; pos < s.size(); ++pos) {
    char ch = s[pos];
    if (ch >= '0' && ch <= '9') {
      digits.push_back(ch);
      any = true;
      if (seen_dot) ++frac_digits;
    } else if (ch == '.' && !seen_dot) {
      seen_dot = true;
    } else {
      break;
    }
  }
  if (!any) throw std::invalid_argument("malformed number '" + s + "'");
  long exp10 = 0;
  if (pos < s.size()) {
    if (s[pos] != 'e' && s[pos] != 'E') throw std::invalid_argument("malformed number '" + s + "'");
    ++pos;
    // std::stol would skip leading white space: require a sign or a digit right after 'e'.
    if (pos >= s.size() || !(s[pos] == '+' || s[pos] == '-' || (s[pos] >= '0' && s[pos] <= '9')))
      throw std::invalid_argument("malformed exponent in '" + s + "'");
    std::size_t used = 0;
    try {
      exp10 = std::stol(s.substr(pos), &used);
    } catch (...) {
      throw std::invalid_argument("malformed exponent in '" + s + "'");
    }
    if (used != s.size() - pos || exp10 > 100000 || exp10 < -100000)
      throw std::invalid_argument("malformed exponent in '" + s + "'");
  }
  Integer mant(digits, 10);
  long e = exp10 - frac_digits;
  Integer p10;
  mpz_ui_pow_ui(p10.get_mpz_t(), 10, static_cast<unsigned long>(e < 0 ? -e : e));
  Rational r = e < 0 ? Rational(mant, p10) : Rational(mant * p10);
  r.canonicalize();
  return neg ? Rational(-r) : r;
}

std::string to_exact_string(const Rational& value) {
  Rational r = value;
  r.canonicalize();  // Rational(6, -4) is stored as given until canonicalised
  if (r.get_den() == 1) return r.get_num().get_str();
  return r.get_num().get_str() + "/" + r.get_den().get_str();
}

namespace {
Rational pow10_rational(long e) {
  Integer p;
  mpz_ui_pow_ui(p.get_mpz_t(), 10, static_cast<unsigned long>(e < 0 ? -e : e));
  return e < 0 ? Rational(Integer(1), p) : Rational(p);
}
}  // namespace

// Exact decimal rounding in GMP (no binary intermediate), so a value with few decimal digits
// prints as itself in every direction, and the printed bound is on the requested side.
std::string to_decimal_string(const Rational& value, int digits, int direction) {
  if (digits < 1) digits = 1;
  if (value == 0) return "0";
  const bool neg = value < 0;
  const Rational a = neg ? Rational(-value) : value;
  long e = static_cast<long>(mpz_sizeinbase(a.get_num_mpz_t(), 10)) -
           static_cast<long>(mpz_sizeinbase(a.get_den_mpz_t(), 10));
  while (a >= pow10_rational(e + 1)) ++e;
  while (a < pow10_rational(e)) --e;
  // Magnitude scaled into [10^(digits-1), 10^digits).
  const Rational scaled = a / pow10_rational(e - digits + 1);
  Integer mant;
  mpz_fdiv_q(mant.get_mpz_t(), scaled.get_num_mpz_t(), scaled.get_den_mpz_t());
  const bool exact = Rational(mant) == scaled;
  // Direction on the signed value becomes floor or ceil on the magnitude.
  int mag_dir = neg ? -direction : direction;
  if (!exact) {
    if (mag_dir > 0) {
      mant += 1;
    } else if (mag_dir == 0) {
      int c = cmp(scaled - Rational(mant), Rational(1, 2));
      if (c > 0 || (c == 0 && mpz_odd_p(mant.get_mpz_t()))) mant += 1;
    }
  }
  Integer top;
  mpz_ui_pow_ui(top.get_mpz_t(), 10, static_cast<unsigned long>(digits));
  if (mant == top) {
    mant /= 10;
    ++e;
  }
  std::string d = mant.get_str();  // exactly `digits` characters
  while (d.size() > 1 && d.back() == '0') d.pop_back();
  std::string out;
  if (e >= -5 && e < digits) {
    if (e >= 0) {
      std::string ip = d.substr(0, std::min<std::size_t>(d.size(), static_cast<std::size_t>(e + 1)));
      ip.append(static_cast<std::size_t>(e + 1) - ip.size(), '0');
      std::string fp = d.size() > static_cast<std::size_t>(e + 1) ? d.substr(static_cast<std::size_t>(e + 1)) : "";
      out = fp.empty() ? ip : ip + "." + fp;
    } else {
      out = "0." + std::string(static_cast<std::size_t>(-e - 1), '0') + d;
    }
  } else {
    out = d.substr(0, 1);
    if (d.size() > 1) out += "." + d.substr(1);
    char buf[32];
    std::snprintf(buf, sizeof buf, "e%c%02ld", e < 0 ? '-' : '+', e < 0 ? -e : e);
    out += buf;
  }
  return neg ? "-" + out : out;
}

std::string to_exact_decimal_or_fraction(const Rational& value) {
  Rational r = value;
  r.canonicalize();
  Integer den = r.get_den();
  unsigned long twos = mpz_remove(den.get_mpz_t(), den.get_mpz_t(), Integer(2).get_mpz_t());
  unsigned long fives = mpz_remove(den.get_mpz_t(), den.get_mpz_t(), Integer(5).get_mpz_t());
  if (den != 1) return to_exact_string(r);
  unsigned long k = twos > fives ? twos : fives;
  Integer scale;
  mpz_ui_pow_ui(scale.get_mpz_t(), 10, k);
  Integer scaled = r.get_num() * scale / r.get_den();  // exact
  bool neg = scaled < 0;
  std::string s = (neg ? Integer(-scaled) : scaled).get_str();
  if (k > 0) {
    if (s.size() <= k) s.insert(0, k - s.size() + 1, '0');
    s.insert(s.size() - k, ".");
  }
  return neg ? "-" + s : s;
}

}  // namespace attnbounds
