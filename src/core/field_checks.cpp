#include "core/field_checks.hpp"

#include <fmt/format.h>

namespace attnbounds {

void check_field_range(const std::string& field, long long v, long long lo, long long hi) {
  if (v < lo || v > hi) throw ConfigError(field, fmt::format("must be in {}..{} (got {})", lo, hi, v));
}

}  // namespace attnbounds
