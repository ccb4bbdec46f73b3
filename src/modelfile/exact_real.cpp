#include "modelfile/exact_real.hpp"

#include "numeric/precision_ladder.hpp"

#include <cctype>

#include "model/turn_table.hpp"
#include "modelfile/safetensors.hpp"

namespace attnbounds {

namespace {

long mod(long a, long M) { return ((a % M) + M) % M; }

constexpr long kMaxTurnDenominator = 1L << 20;

// A decimal integer without sign or leading zeros, at most 7 digits.
bool parse_small_natural(const std::string& s, long* out) {
  if (s.empty() || s.size() > 7 || (s.size() > 1 && s[0] == '0')) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  *out = std::stol(s);
  return true;
}

std::optional<Rational> parse_canonical(const std::string& tok) {
  if (tok.empty() || tok.size() > 100000) return std::nullopt;
  for (char c : tok)
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '/')) return std::nullopt;
  try {
    Rational q(tok, 10);
    if (q.get_den() == 0) return std::nullopt;
    q.canonicalize();
    if (to_exact_string(q) != tok) return std::nullopt;
    return q;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

ExactReal ExactReal::cos_turn(const Rational& scale, long r, long M) {
  r = mod(r, M);
  if (auto e = cos_turn_exact(r, M)) return ExactReal(scale * *e);
  if (scale == 0) return ExactReal(Rational(0));
  ExactReal x;
  x.coefficient = scale;
  x.trig = Trig::Cos;
  x.r = r;
  x.M = M;
  return x;
}

ExactReal ExactReal::sin_turn(const Rational& scale, long r, long M) {
  r = mod(r, M);
  if (auto e = sin_turn_exact(r, M)) return ExactReal(scale * *e);
  if (scale == 0) return ExactReal(Rational(0));
  ExactReal x;
  x.coefficient = scale;
  x.trig = Trig::Sin;
  x.r = r;
  x.M = M;
  return x;
}

ExactReal ExactReal::plus(const Rational& c) const {
  ExactReal x = *this;
  x.constant += c;
  return x;
}

ExactReal ExactReal::negated() const {
  ExactReal x = *this;
  x.constant = -x.constant;
  x.coefficient = -x.coefficient;
  return x;
}

Interval ExactReal::at(mpfr_prec_t bits) const {
  if (trig == Trig::None) return Interval(constant, bits);
  Interval t = Interval(coefficient, bits) * (trig == Trig::Cos ? attnbounds::cos_turn(r, M, bits) : attnbounds::sin_turn(r, M, bits));
  if (constant == 0) return t;
  return Interval(constant, bits) + t;
}

std::string ExactReal::text() const {
  if (trig == Trig::None) return to_exact_string(constant);
  const std::string fn = std::string(trig == Trig::Cos ? "cos" : "sin") + "(2pi*" + std::to_string(r) + "/" +
                         std::to_string(M) + ")";
  if (constant == 0) return to_exact_string(coefficient) + "*" + fn;
  const bool negative = coefficient < 0;
  return to_exact_string(constant) + (negative ? "-" : "+") + to_exact_string(negative ? Rational(-coefficient) : coefficient) +
         "*" + fn;
}

std::optional<ExactReal> parse_exact_real(const std::string& text) {
  const std::size_t star = text.find('*');
  if (star == std::string::npos) {
    auto q = parse_canonical(text);
    if (!q) return std::nullopt;
    return ExactReal(*q);
  }
  const std::string prefix = text.substr(0, star), fn = text.substr(star + 1);
  ExactReal x;
  if (fn.rfind("cos(2pi*", 0) == 0) x.trig = ExactReal::Trig::Cos;
  else if (fn.rfind("sin(2pi*", 0) == 0) x.trig = ExactReal::Trig::Sin;
  else return std::nullopt;
  if (fn.back() != ')') return std::nullopt;
  const std::string angle = fn.substr(8, fn.size() - 9);
  const std::size_t slash = angle.find('/');
  if (slash == std::string::npos || !parse_small_natural(angle.substr(0, slash), &x.r) ||
      !parse_small_natural(angle.substr(slash + 1), &x.M))
    return std::nullopt;
  if (x.M < 2 || x.M > kMaxTurnDenominator || x.r < 1 || x.r >= x.M) return std::nullopt;
  const auto rational_value = x.trig == ExactReal::Trig::Cos ? cos_turn_exact(x.r, x.M) : sin_turn_exact(x.r, x.M);
  if (rational_value) return std::nullopt;  // a rational is spelled as one
  std::size_t op = std::string::npos;
  for (std::size_t i = 1; i < prefix.size(); ++i)
    if (prefix[i] == '+' || prefix[i] == '-') {
      op = i;
      break;
    }
  if (op == std::string::npos) {
    auto b = parse_canonical(prefix);
    if (!b || *b == 0) return std::nullopt;
    x.coefficient = *b;
  } else {
    auto a = parse_canonical(prefix.substr(0, op));
    const std::string btext = prefix.substr(op + 1);
    if (btext.empty() || btext[0] == '-') return std::nullopt;
    auto b = parse_canonical(btext);
    if (!a || *a == 0 || !b || *b == 0) return std::nullopt;
    x.constant = *a;
    x.coefficient = prefix[op] == '-' ? Rational(-*b) : *b;
  }
  return x;
}

double nearest_double(const ExactReal& x) {
  if (x.is_rational()) return nearest_double(x.constant);
  // Irrational: some precision separates it from every rounding boundary.
  double nearest = 0;
  const bool separated = raise_precision(
      [&](mpfr_prec_t bits) {
        Interval v = x.at(bits);
        const double lo = nearest_double(v.lower()), hi = nearest_double(v.upper());
        nearest = lo;
        return lo == hi;
      },
      kRoundingLadder);
  if (separated) return nearest;
  throw std::runtime_error("nearest_double: no precision up to " + std::to_string(kRoundingLadder.ceiling) +
                           " bits separates " + x.text() + " from a rounding boundary");
}

}  // namespace attnbounds
