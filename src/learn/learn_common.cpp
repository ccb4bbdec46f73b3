#include "learn/learn_common.hpp"

#include <cmath>

#include "core/config_error.hpp"

namespace attnbounds {

void require_config_field(bool ok, const char* field, const std::string& range, long double got) {
  if (ok) return;
  const std::string g = std::isfinite(static_cast<double>(got)) && got == std::floor(got) && std::fabs(got) < 1e18L
                            ? std::to_string(static_cast<long long>(got))
                            : std::to_string(static_cast<double>(got));
  throw ConfigError(field, "must be " + range + " (got " + g + ")");
}

std::uint64_t uniform_below(std::mt19937_64& g, std::uint64_t n) {
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  std::uint64_t v;
  do v = g();
  while (v >= limit);
  return v % n;
}

}  // namespace attnbounds
