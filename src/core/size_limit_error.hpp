// An enumeration larger than its guard, refused because the caller did not force it.  The
// library says what would be enumerated, how many cases and the limit; the application words it
// (and names its flag).  It is a ConfigError on the field "force", so an application that only
// knows ConfigError still reports it as bad input.
#pragma once
#include <cstdint>
#include <string>

#include "core/config_error.hpp"

namespace attnbounds {

class SizeLimitError : public ConfigError {
 public:
  SizeLimitError(std::string what, std::uint64_t size, std::uint64_t limit)
      : ConfigError("force", describe(what, size, limit)), enumeration_(std::move(what)), size_(size), limit_(limit) {}
  // What would be enumerated, e.g. "match2 cases M*C(M+N-2,N-1)".
  const std::string& enumeration() const { return enumeration_; }
  std::uint64_t size() const { return size_; }  // UINT64_MAX: more than 1.8e19 (saturated)
  std::uint64_t limit() const { return limit_; }

  // "<what> has <size> cases, above the limit of <limit>".
  static std::string describe(const std::string& what, std::uint64_t size, std::uint64_t limit) {
    return what + " has " + (size == UINT64_MAX ? std::string("more than 1.8e19") : std::to_string(size)) +
           " cases, above the limit of " + std::to_string(limit);
  }

 private:
  std::string enumeration_;
  std::uint64_t size_, limit_;
};

// Throws SizeLimitError when size > limit and the run is not forced.
inline void require_size_limit(const std::string& what, std::uint64_t size, std::uint64_t limit, bool force) {
  if (size > limit && !force) throw SizeLimitError(what, size, limit);
}

}  // namespace attnbounds
