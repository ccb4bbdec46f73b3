#include "checks/usage_error.hpp"

#include <fmt/format.h>

namespace attnbounds {

void require_range(const std::string& name, long long v, long long lo, long long hi) {
  if (v < lo || v > hi) throw UsageError(name, fmt::format("must be in {}..{} (got {})", lo, hi, v));
}

void require_range(const std::string& name, double v, double lo, double hi, bool open_low, bool open_high) {
  bool bad = open_low ? !(v > lo) : !(v >= lo);
  bad = bad || (open_high ? !(v < hi) : !(v <= hi));
  if (bad)
    throw UsageError(name, fmt::format("must be in {}{}, {}{} (got {})", open_low ? "(" : "[", lo, hi,
                                       open_high ? ")" : "]", v));
}

void require_size(const std::string& what, std::uint64_t size, std::uint64_t limit, bool force) {
  if (size > limit && !force)
    throw UsageError("--force", fmt::format("{} has {} cases, above the limit of {}; pass --force to run it anyway",
                                            what, size == UINT64_MAX ? std::string("more than 1.8e19")
                                                                     : std::to_string(size),
                                            limit));
}

}  // namespace attnbounds
