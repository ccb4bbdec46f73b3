// Range checks of typed configuration fields: each throws ConfigError naming the field, with the
// allowed range in the message, so every configuration rejects bad values with the same words.
#pragma once
#include <concepts>
#include <string>

#include "core/config_error.hpp"

namespace attnbounds {

// "must be in lo..hi (got v)" unless lo <= v <= hi.
void check_field_range(const std::string& field, long long v, long long lo, long long hi);
template <std::integral A, std::integral B, std::integral C>
void check_field_range(const std::string& field, A v, B lo, C hi) {
  check_field_range(field, static_cast<long long>(v), static_cast<long long>(lo), static_cast<long long>(hi));
}

}  // namespace attnbounds
