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

std::optional<std::string> SemanticsSupport::refusal(const Semantics& sem, std::string_view claim) const {
  const std::string who(claim);
  bool accepted = false;
  switch (sem.kind) {
    case Semantics::Kind::Exact: accepted = exact; break;
    case Semantics::Kind::Embed: accepted = embed; break;
    case Semantics::Kind::Arith: accepted = arith; break;
    case Semantics::Kind::Tiled: accepted = tiled; break;
  }
  if (!accepted) {
    const std::string w = words();
    const bool one = w.find(',') == std::string::npos && w.find(" and ") == std::string::npos;
    return who + (one ? " needs " : " supports ") + w + " (got " + sem.name() + ")";
  }
  if (sem.kind == Semantics::Kind::Exact) return std::nullopt;
  if (sem.kind == Semantics::Kind::Arith && sem.format.kind == Format::Kind::Bounded && !arith_bounded)
    return who + ": arith:" + sem.format.name() +
           " (a bounded-exponent hardware format) is not supported by this checker's arith bound; use arith:float:P "
           "(P significand bits, unbounded exponent)";
  if (sem.format.kind == Format::Kind::Fixed && sem.format.I < min_fixed_integer_bits)
    return who + ": fixed:I.F needs I >= " + std::to_string(min_fixed_integer_bits) +
           " so that entries in [-1, 1] are representable (got " + sem.format.name() + ")";
  return std::nullopt;
}

SemanticsPolicy::SemanticsPolicy(const Semantics& semantics, const SemanticsSupport& support, std::string_view claim)
    : sem_(semantics) {
  if (auto why = support.refusal(sem_, claim)) throw ConfigError("semantics", *why);
  if (sem_.kind != Semantics::Kind::Exact) storage_ = sem_.format;
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
