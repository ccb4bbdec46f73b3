// Range check of an integer configuration field, reported by the field's name.
#pragma once
#include <string>

#include "core/config_error.hpp"

namespace attnbounds {

// Throws ConfigError(field, "must be in lo..hi (got v)") when v is outside [lo, hi].
inline void require_field_range(const std::string& field, long long v, long long lo, long long hi) {
  if (v < lo || v > hi)
    throw ConfigError(field, "must be in " + std::to_string(lo) + ".." + std::to_string(hi) + " (got " +
                                 std::to_string(v) + ")");
}

}  // namespace attnbounds
