// What the learning configurations and samplers share (no Torch): the range check that names a
// configuration field, and an unbiased uniform integer from the seeded generator.
#pragma once
#include <cstdint>
#include <random>
#include <string>

namespace attnbounds {

// Throws ConfigError(field, "must be <range> (got <got>)") unless ok.
void require_config_field(bool ok, const char* field, const std::string& range, long double got);

// Uniform integer in [0, n) by rejection (no modulo bias); n >= 1.
std::uint64_t uniform_below(std::mt19937_64& g, std::uint64_t n);

}  // namespace attnbounds
