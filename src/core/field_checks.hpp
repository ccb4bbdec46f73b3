// Range checks of typed configuration fields: each throws ConfigError naming the field, with the
// allowed range in the message, so every configuration rejects bad values with the same words.
#pragma once
#include <concepts>
#include <string>

#include "core/config_error.hpp"

namespace attnbounds {

// The allowed range of an integer field, defined once beside the configuration it belongs to:
// the configuration's validation and the command line's parameter table (ranges, --help, list)
// both read it, so the two cannot drift apart.
struct FieldLimits {
  long long lo, hi;
};

// "must be in lo..hi (got v)" unless lo <= v <= hi.
void check_field_range(const std::string& field, long long v, long long lo, long long hi);
template <std::integral A, std::integral B, std::integral C>
void check_field_range(const std::string& field, A v, B lo, C hi) {
  check_field_range(field, static_cast<long long>(v), static_cast<long long>(lo), static_cast<long long>(hi));
}
inline void check_field_range(const std::string& field, long long v, FieldLimits limits) {
  check_field_range(field, v, limits.lo, limits.hi);
}

}  // namespace attnbounds
