#include "core/semantics_policy.hpp"

#include <stdexcept>

#include "core/config_error.hpp"

namespace attnbounds {

std::string SemanticsSupport::words() const {
  std::vector<std::string> kinds;
  if (exact) kinds.emplace_back("exact");
  if (embed) kinds.emplace_back("embed:<fmt>");
  if (arith) kinds.emplace_back("arith:<fmt>");
  if (tiled) kinds.emplace_back("tiled:<fmt>:<T>");
  std::string out;
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    if (i > 0) out += i + 1 == kinds.size() ? " and " : ", ";
    out += kinds[i];
  }
  return out.empty() ? "nothing" : out;
}

std::string SemanticsSupport::description() const {
  std::string out = words();
  std::vector<std::string> notes;
  if (min_fixed_integer_bits > 1) notes.push_back("fixed:I.F with I >= " + std::to_string(min_fixed_integer_bits));
  if (arith && !arith_bounded) notes.push_back("arith not over bounded-exponent hardware formats");
  for (std::size_t i = 0; i < notes.size(); ++i) out += (i == 0 ? " (" : "; ") + notes[i];
  if (!notes.empty()) out += ")";
  return out;
}

SemanticsPolicy::SemanticsPolicy(const Semantics& semantics, const SemanticsSupport& support, std::string_view claim)
    : sem_(semantics) {
  const std::string who(claim);
  bool accepted = false;
  switch (sem_.kind) {
    case Semantics::Kind::Exact: accepted = support.exact; break;
    case Semantics::Kind::Embed: accepted = support.embed; break;
    case Semantics::Kind::Arith: accepted = support.arith; break;
    case Semantics::Kind::Tiled: accepted = support.tiled; break;
  }
  if (!accepted) {
    const bool one = support.words().find(',') == std::string::npos && support.words().find(" and ") == std::string::npos;
    throw ConfigError("semantics", who + (one ? " needs " : " supports ") + support.words() + " (got " + sem_.name() + ")");
  }
  if (sem_.kind == Semantics::Kind::Exact) return;
  if (sem_.kind == Semantics::Kind::Arith && sem_.format.kind == Format::Kind::Bounded && !support.arith_bounded)
    throw ConfigError("semantics", who + ": arith:" + sem_.format.name() +
                                       " (a bounded-exponent hardware format) is not supported by this checker's arith "
                                       "bound; use arith:float:P (P significand bits, unbounded exponent)");
  if (sem_.format.kind == Format::Kind::Fixed && sem_.format.I < support.min_fixed_integer_bits)
    throw ConfigError("semantics", who + ": fixed:I.F needs I >= " + std::to_string(support.min_fixed_integer_bits) +
                                       " so that entries in [-1, 1] are representable (got " + sem_.format.name() + ")");
  storage_ = sem_.format;
}

Rational SemanticsPolicy::stored(const Rational& v) const { return storage_ ? round_to(*storage_, v) : v; }

std::optional<Rational> SemanticsPolicy::stored_real(const std::function<Interval(mpfr_prec_t)>& make) const {
  if (!storage_) return std::nullopt;
  return round_certified(*storage_, make);
}

const Format& SemanticsPolicy::format() const {
  if (!storage_) throw std::logic_error("SemanticsPolicy::format: exact semantics has no format");
  return *storage_;
}

std::vector<Rational> SemanticsPolicy::stored(const std::vector<Rational>& v) const {
  if (!storage_) return v;
  std::vector<Rational> out;
  out.reserve(v.size());
  for (const auto& x : v) out.push_back(round_to(*storage_, x));
  return out;
}

}  // namespace attnbounds
