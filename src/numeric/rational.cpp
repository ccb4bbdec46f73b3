#include "numeric/rational.hpp"

#include <mpfr.h>

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

std::string to_decimal_string(const Rational& r, int digits, int direction) {
  mpfr_t x;
  // Enough bits that the decimal rounding below is the only rounding that matters.
  mpfr_init2(x, static_cast<mpfr_prec_t>(digits * 4 + 64));
  mpfr_rnd_t rnd = direction < 0 ? MPFR_RNDD : direction > 0 ? MPFR_RNDU : MPFR_RNDN;
  mpfr_set_q(x, r.get_mpq_t(), rnd);
  char* buf = nullptr;
  mpfr_asprintf(&buf, direction < 0 ? "%.*RDg" : direction > 0 ? "%.*RUg" : "%.*RNg", digits, x);
  std::string out(buf);
  mpfr_free_str(buf);
  mpfr_clear(x);
  return out;
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
