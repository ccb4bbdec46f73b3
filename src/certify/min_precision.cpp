#include "certify/min_precision.hpp"

#include "enumerate/run_control.hpp"

#include "core/config_error.hpp"
#include "core/field_checks.hpp"

namespace attnbounds {

namespace {
constexpr int kMaxPrecisionBits = MinPrecisionConfig::kP.hi;
}

void MinPrecisionConfig::validate() const {
  if (mode != Semantics::Kind::Embed && mode != Semantics::Kind::Arith)
    throw ConfigError("mode", "must be embed or arith");
  if (p_limits.lo < kP.lo || p_limits.hi > kP.hi) throw std::logic_error("MinPrecisionConfig: p_limits outside kP");
  check_field_range("p_min", p_min, p_limits);
  check_field_range("p_max", p_max, p_min, p_limits.hi);
  if (family == FormatFamily::Fixed) check_field_range("fixed_integer_bits", fixed_integer_bits, 1, kMaxPrecisionBits);
}

std::optional<Semantics> MinPrecisionConfig::semantics_at(int p) const {
  Semantics sem;
  sem.kind = mode;
  if (family == FormatFamily::Float) {
    sem.format = Format::float_bits(p);
  } else {
    if (p - fixed_integer_bits < 0) return std::nullopt;
    sem.format = Format::fixed_bits(fixed_integer_bits, p - fixed_integer_bits);
  }
  return sem;
}

const PrecisionRow* MinPrecisionResult::star_row() const {
  if (!p_star) return nullptr;
  for (const auto& row : table)
    if (row.p == *p_star) return &row;
  return nullptr;
}

MinPrecisionResult decide_min_precision(std::vector<PrecisionRow> table) {
  MinPrecisionResult res;
  res.table = std::move(table);
  for (auto it = res.table.rbegin(); it != res.table.rend(); ++it) {
    if (it->trial.verdict != Verdict::Holds) break;
    res.p_star = it->p;
  }
  if (res.p_star)
    for (const auto& row : res.table)
      if (row.p < *res.p_star && row.trial.verdict == Verdict::Holds) res.islands.push_back(row.p);
  if (res.p_star) {
    res.verdict = Verdict::Holds;
  } else if (!res.table.empty() && res.table.back().trial.verdict == Verdict::Fails &&
             res.table.back().trial.witness_verified) {
    res.verdict = Verdict::Fails;
  } else {
    res.verdict = Verdict::Undecided;
  }
  return res;
}

MinPrecisionResult min_precision(const MinPrecisionConfig& config, const PrecisionCheck& check) {
  config.validate();
  std::vector<PrecisionRow> table;
  for (int p = config.p_min; p <= config.p_max; ++p) {
    const std::optional<Semantics> sem = config.semantics_at(p);
    if (!sem) continue;
    const RepeatHint remaining(static_cast<std::uint64_t>(config.p_max - p + 1));  // for the time estimate
    PrecisionTrial trial;
    try {
      trial = check(*sem);
    } catch (const FormatRangeError& e) {
      // Overflow is an error of the format, not a wrong value: the claim is simply not
      // established at this p (a wider range or a larger p may hold).
      trial = PrecisionTrial{};
      trial.verdict = Verdict::Undecided;
      trial.undecided_reason = std::string(e.what()) +
                               "; overflow is an error of the format, neither an output nor a counterexample, so "
                               "the claim is not established at this p";
    }
    table.push_back({p, *sem, std::move(trial)});
  }
  return decide_min_precision(std::move(table));
}

}  // namespace attnbounds
