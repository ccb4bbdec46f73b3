#include "learn/learn_common.hpp"

#include <algorithm>
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

void require_config_limits(const char* field, long double v, FieldLimits limits) {
  require_config_field(v >= limits.lo && v <= limits.hi, field,
                       "in " + std::to_string(limits.lo) + ".." + std::to_string(limits.hi), v);
}

void validate_training_schedule(std::int64_t validation, std::int64_t test, int epochs, int batch, double lr,
                                int patience, int threads) {
  require_config_limits("validation", static_cast<long double>(validation), TrainingLimits::kValidation);
  require_config_limits("test", static_cast<long double>(test), TrainingLimits::kTest);
  require_config_limits("epochs", epochs, TrainingLimits::kEpochs);
  require_config_limits("batch", batch, TrainingLimits::kBatch);
  require_config_field(std::isfinite(lr) && lr > 0 && lr <= 10, "lr", "in (0, 10]", lr);
  require_config_limits("patience", patience, TrainingLimits::kPatience);
  require_config_limits("threads", threads, TrainingLimits::kThreads);
}

std::optional<double> median(std::vector<double> values) {
  if (values.empty()) return std::nullopt;
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

std::optional<double> loglog_slope(const std::vector<std::pair<double, double>>& pts) {
  if (pts.size() < 2) return std::nullopt;
  double mx = 0, my = 0;
  for (auto [x, y] : pts) mx += std::log(x), my += std::log(y);
  mx /= static_cast<double>(pts.size()), my /= static_cast<double>(pts.size());
  double sxy = 0, sxx = 0;
  for (auto [x, y] : pts) sxy += (std::log(x) - mx) * (std::log(y) - my), sxx += (std::log(x) - mx) * (std::log(x) - mx);
  if (sxx == 0) return std::nullopt;
  return sxy / sxx;
}

}  // namespace attnbounds
