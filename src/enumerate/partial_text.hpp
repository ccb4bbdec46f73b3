// Writing and reading partial results as one line of space-separated tokens, losslessly, for
// the codecs of reductions whose partials hold rationals and vectors (journal, MPI).
#pragma once
#include <cstdint>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "numeric/rational.hpp"

namespace attnbounds {

class PartialWriter {
 public:
  PartialWriter& u64(std::uint64_t v) { return token(std::to_string(v)); }
  PartialWriter& rational(const Rational& r) { return token(r.get_str()); }  // "p" or "p/q", exact
  PartialWriter& pair(const std::pair<std::uint64_t, std::uint64_t>& p) { return u64(p.first).u64(p.second); }
  template <class A, class B>
  PartialWriter& optional_pair(const std::optional<std::pair<A, B>>& p) {
    if (!p) return token("-");
    token("+");
    return u64(static_cast<std::uint64_t>(p->first)).u64(static_cast<std::uint64_t>(p->second));
  }
  PartialWriter& rationals(const std::vector<Rational>& v) {
    u64(v.size());
    for (const auto& r : v) rational(r);
    return *this;
  }
  const std::string& text() const { return text_; }

 private:
  PartialWriter& token(const std::string& t) {
    if (!text_.empty()) text_ += ' ';
    text_ += t;
    return *this;
  }
  std::string text_;
};

class PartialReader {
 public:
  explicit PartialReader(const std::string& text) : in_(text) {}
  std::uint64_t u64() {
    const std::string t = token();
    if (t.empty() || t.find_first_not_of("0123456789") != std::string::npos || t.size() > 20) bad();
    return std::stoull(t);
  }
  Rational rational() {
    const std::string t = token();
    if (t.empty() || t.find_first_not_of("-0123456789/") != std::string::npos) bad();
    Rational r(t);
    r.canonicalize();
    return r;
  }
  std::pair<std::uint64_t, std::uint64_t> pair() {
    const std::uint64_t a = u64();
    return {a, u64()};
  }
  template <class A, class B>
  std::optional<std::pair<A, B>> optional_pair() {
    const std::string t = token();
    if (t == "-") return std::nullopt;
    if (t != "+") bad();
    const std::uint64_t a = u64();
    return std::pair<A, B>{static_cast<A>(a), static_cast<B>(u64())};
  }
  std::vector<Rational> rationals() {
    const std::uint64_t n = u64();
    if (n > 1000000) bad();
    std::vector<Rational> v;
    v.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i) v.push_back(rational());
    return v;
  }
  // Throws unless every token was read.
  void finish() {
    std::string rest;
    if (in_ >> rest) bad();
  }

 private:
  std::string token() {
    std::string t;
    if (!(in_ >> t)) bad();
    return t;
  }
  [[noreturn]] static void bad() { throw std::runtime_error("chunk record: malformed partial"); }
  std::istringstream in_;
};

}  // namespace attnbounds
