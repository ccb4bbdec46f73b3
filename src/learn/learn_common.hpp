// What the learning configurations and samplers share (no Torch): the range check that names a
// configuration field, and an unbiased uniform integer from the seeded generator.
#pragma once
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/field_checks.hpp"

namespace attnbounds {

// The training schedule every learn configuration has, with its limits; the limits are also the
// ranges of the command-line flags.
struct TrainingLimits {
  static constexpr FieldLimits kValidation{1, 1000000}, kTest{1, 1000000}, kEpochs{1, 100000}, kBatch{1, 100000},
      kPatience{1, 100000}, kThreads{1, 1024};
};
// Throws ConfigError naming the first field outside its TrainingLimits, or lr outside (0, 10].
void validate_training_schedule(std::int64_t validation, std::int64_t test, int epochs, int batch, double lr,
                                int patience, int threads);
// require_config_field for a range given as limits ("in lo..hi").
void require_config_limits(const char* field, long double v, FieldLimits limits);

// Throws ConfigError(field, "must be <range> (got <got>)") unless ok.
void require_config_field(bool ok, const char* field, const std::string& range, long double got);

// Uniform integer in [0, n) by rejection (no modulo bias); n >= 1.
std::uint64_t uniform_below(std::mt19937_64& g, std::uint64_t n);

// The statistics of the sample-complexity sweep.
// The median: the middle value, or the mean of the two middle values of an even count; nullopt
// when empty.
std::optional<double> median(std::vector<double> values);
// Least-squares slope of log y against log x (x, y > 0); nullopt for fewer than two distinct x.
std::optional<double> loglog_slope(const std::vector<std::pair<double, double>>& points);

}  // namespace attnbounds
