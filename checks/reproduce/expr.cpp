#include "expr.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <stdexcept>
#include <vector>

namespace attnbounds {

namespace {

// Recursive descent; a missing variable poisons the result (nullopt) but parsing continues so
// that syntax errors are always reported.
class Parser {
 public:
  Parser(std::string_view text, const VariableLookup& lookup) : s_(text), lookup_(lookup) {}

  std::optional<double> parse() {
    auto v = parse_or();
    skip();
    if (pos_ != s_.size()) fail("unexpected '" + std::string(s_.substr(pos_, 1)) + "'");
    return v;
  }

 private:
  using Value = std::optional<double>;
  std::string_view s_;
  const VariableLookup& lookup_;
  std::size_t pos_ = 0;

  [[noreturn]] void fail(const std::string& what) const {
    throw std::invalid_argument("expression '" + std::string(s_) + "': " + what + " at position " + std::to_string(pos_));
  }
  void skip() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool eat(std::string_view tok) {
    skip();
    if (s_.substr(pos_, tok.size()) == tok) {
      pos_ += tok.size();
      return true;
    }
    return false;
  }
  static Value combine(Value a, Value b, double (*f)(double, double)) {
    if (!a || !b) return std::nullopt;
    return f(*a, *b);
  }

  Value parse_or() {
    Value v = parse_and();
    while (eat("||")) v = combine(v, parse_and(), [](double a, double b) { return (a != 0 || b != 0) ? 1.0 : 0.0; });
    return v;
  }
  Value parse_and() {
    Value v = parse_cmp();
    while (eat("&&")) v = combine(v, parse_cmp(), [](double a, double b) { return (a != 0 && b != 0) ? 1.0 : 0.0; });
    return v;
  }
  Value parse_cmp() {
    Value v = parse_add();
    if (eat("<=")) return combine(v, parse_add(), [](double a, double b) { return a <= b ? 1.0 : 0.0; });
    if (eat(">=")) return combine(v, parse_add(), [](double a, double b) { return a >= b ? 1.0 : 0.0; });
    if (eat("==")) return combine(v, parse_add(), [](double a, double b) { return a == b ? 1.0 : 0.0; });
    if (eat("!=")) return combine(v, parse_add(), [](double a, double b) { return a != b ? 1.0 : 0.0; });
    if (eat("<")) return combine(v, parse_add(), [](double a, double b) { return a < b ? 1.0 : 0.0; });
    if (eat(">")) return combine(v, parse_add(), [](double a, double b) { return a > b ? 1.0 : 0.0; });
    return v;
  }
  Value parse_add() {
    Value v = parse_mul();
    for (;;) {
      if (eat("+")) v = combine(v, parse_mul(), [](double a, double b) { return a + b; });
      else if (eat("-")) v = combine(v, parse_mul(), [](double a, double b) { return a - b; });
      else return v;
    }
  }
  Value parse_mul() {
    Value v = parse_unary();
    for (;;) {
      if (eat("*")) v = combine(v, parse_unary(), [](double a, double b) { return a * b; });
      else if (eat("/")) v = combine(v, parse_unary(), [](double a, double b) { return a / b; });
      else return v;
    }
  }
  Value parse_unary() {
    if (eat("-")) {
      Value v = parse_unary();
      return v ? Value(-*v) : std::nullopt;
    }
    Value base = parse_primary();
    if (eat("^")) return combine(base, parse_unary(), [](double a, double b) { return std::pow(a, b); });
    return base;
  }
  Value parse_primary() {
    skip();
    if (pos_ >= s_.size()) fail("unexpected end");
    char ch = s_[pos_];
    if (ch == '(') {
      ++pos_;
      Value v = parse_or();
      if (!eat(")")) fail("missing ')'");
      return v;
    }
    if (std::isdigit(static_cast<unsigned char>(ch)) || ch == '.') {
      std::string rest(s_.substr(pos_));
      char* end = nullptr;
      double v = std::strtod(rest.c_str(), &end);
      if (end == rest.c_str()) fail("bad number");
      pos_ += static_cast<std::size_t>(end - rest.c_str());
      return v;
    }
    if (std::isalpha(static_cast<unsigned char>(ch)) || ch == '_') {
      std::size_t start = pos_;
      while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_')) ++pos_;
      std::string name(s_.substr(start, pos_ - start));
      if (eat("(")) return call(name);
      return lookup_(name);
    }
    fail("unexpected '" + std::string(1, ch) + "'");
  }
  Value call(const std::string& name) {
    std::vector<Value> args;
    if (!eat(")")) {
      do args.push_back(parse_or());
      while (eat(","));
      if (!eat(")")) fail("missing ')' after arguments of " + name);
    }
    auto unary = [&](double (*f)(double)) -> Value {
      if (args.size() != 1) fail(name + " takes one argument");
      return args[0] ? Value(f(*args[0])) : std::nullopt;
    };
    if (name == "log2") return unary([](double x) { return std::log2(x); });
    if (name == "ln") return unary([](double x) { return std::log(x); });
    if (name == "log10") return unary([](double x) { return std::log10(x); });
    if (name == "sqrt") return unary([](double x) { return std::sqrt(x); });
    if (name == "abs") return unary([](double x) { return std::fabs(x); });
    if (name == "ceil") return unary([](double x) { return std::ceil(x); });
    if (name == "floor") return unary([](double x) { return std::floor(x); });
    if (name == "min" || name == "max") {
      if (args.empty()) fail(name + " needs arguments");
      Value best = args[0];
      for (const auto& a : args) {
        if (!a || !best) return std::nullopt;
        best = name == "min" ? std::min(*best, *a) : std::max(*best, *a);
      }
      return best;
    }
    fail("unknown function '" + name + "'");
  }
};

}  // namespace

std::optional<double> evaluate_expression(std::string_view expr, const VariableLookup& lookup) {
  return Parser(expr, lookup).parse();
}

void validate_expression(std::string_view expr) {
  VariableLookup one = [](const std::string&) -> std::optional<double> { return 1.0; };
  Parser(expr, one).parse();
}

}  // namespace attnbounds
