// Errors that map to exit status 2 (bad input or usage): one line naming the parameter.
#pragma once
#include <concepts>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace attnbounds {

struct UsageError : std::runtime_error {
  UsageError(const std::string& param, const std::string& message)
      : std::runtime_error(param + ": " + message) {}
};

// Throws UsageError("--name", "must be in lo..hi (got v)") when v is outside [lo, hi].
void require_range(const std::string& name, long long v, long long lo, long long hi);
// Any mix of integer types (int N, long long limits) lands on the long long check.
template <std::integral A, std::integral B, std::integral C>
void require_range(const std::string& name, A v, B lo, C hi) {
  require_range(name, static_cast<long long>(v), static_cast<long long>(lo), static_cast<long long>(hi));
}
void require_range(const std::string& name, double v, double lo, double hi, bool open_low = false,
                   bool open_high = false);
// Refuses an enumeration larger than `limit` unless forced, saying how big it is.
void require_size(const std::string& what, std::uint64_t size, std::uint64_t limit, bool force);

}  // namespace attnbounds
