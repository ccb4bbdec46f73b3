// DInterval's elementary functions and products: the IEEE-only exp/log against the previous
// C-library versions (std::exp / std::log widened by 4 ulps, kept here only for comparison),
// and the fast products against the four-corner rule with std::fmin/std::fmax.
// Numbers go to docs/performance.md.
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <vector>

#include "numeric/dinterval.hpp"

using namespace attnbounds;

namespace {

constexpr std::size_t kN = 1024;

std::vector<double> uniform(double lo, double hi, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<double> v(kN);
  for (auto& x : v) x = u(rng);
  return v;
}

// The previous C-library enclosures: an assumption about libm's accuracy, not a proof.
DInterval exp_libm(DInterval a) {
  if (a.has_nan()) return DInterval::invalid();
  double lo = DInterval::down(std::exp(a.lower()), 4), hi = DInterval::up(std::exp(a.upper()), 4);
  return {std::fmax(lo, 0.0), hi};
}
DInterval log_libm(DInterval a) {
  if (a.has_nan() || a.lower() < 0) return DInterval::invalid();
  return {DInterval::down(std::log(a.lower()), 4), DInterval::up(std::log(a.upper()), 4)};
}
DInterval mul_four_corners(DInterval a, DInterval b) {
  if (a.has_nan() || b.has_nan()) return DInterval::invalid();
  double p1 = a.lower() * b.lower(), p2 = a.lower() * b.upper(), p3 = a.upper() * b.lower(), p4 = a.upper() * b.upper();
  return {DInterval::down(std::fmin(std::fmin(p1, p2), std::fmin(p3, p4))),
          DInterval::up(std::fmax(std::fmax(p1, p2), std::fmax(p3, p4)))};
}

template <class Fn>
void run_unary(benchmark::State& state, const std::vector<double>& xs, double width, Fn fn) {
  std::vector<DInterval> in;
  for (double x : xs) in.emplace_back(x, x + width * std::fabs(x));
  for (auto _ : state)
    for (const auto& x : in) benchmark::DoNotOptimize(fn(x));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(in.size()));
}

const std::vector<double>& exp_args() {
  static const auto v = uniform(-700.0, 700.0, 1);
  return v;
}
const std::vector<double>& log_args() {
  static const auto v = uniform(1e-10, 1e10, 2);
  return v;
}

void BM_exp_ieee(benchmark::State& st) { run_unary(st, exp_args(), 1e-12, [](DInterval x) { return exp(x); }); }
void BM_exp_libm(benchmark::State& st) { run_unary(st, exp_args(), 1e-12, exp_libm); }
void BM_exp_ieee_point(benchmark::State& st) { run_unary(st, exp_args(), 0.0, [](DInterval x) { return exp(x); }); }
void BM_exp_libm_point(benchmark::State& st) { run_unary(st, exp_args(), 0.0, exp_libm); }
void BM_log_ieee(benchmark::State& st) { run_unary(st, log_args(), 1e-12, [](DInterval x) { return log(x); }); }
void BM_log_libm(benchmark::State& st) { run_unary(st, log_args(), 1e-12, log_libm); }

template <class Fn>
void run_binary(benchmark::State& state, double lo, double hi, Fn fn) {
  const auto a = uniform(lo, hi, 3), b = uniform(lo, hi, 4);
  std::vector<DInterval> x, y;
  for (std::size_t i = 0; i < kN; ++i) {
    x.emplace_back(a[i], a[i] + 1e-9);
    y.emplace_back(b[i], b[i] + 1e-9);
  }
  for (auto _ : state)
    for (std::size_t i = 0; i < kN; ++i) benchmark::DoNotOptimize(fn(x[i], y[i]));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kN));
}

void BM_mul_mixed_signs(benchmark::State& st) { run_binary(st, -3.0, 3.0, [](DInterval a, DInterval b) { return a * b; }); }
void BM_mul_mixed_signs_four_corners(benchmark::State& st) { run_binary(st, -3.0, 3.0, mul_four_corners); }
void BM_mul_nonneg(benchmark::State& st) { run_binary(st, 0.0, 3.0, [](DInterval a, DInterval b) { return a * b; }); }
void BM_mul_nonneg_four_corners(benchmark::State& st) { run_binary(st, 0.0, 3.0, mul_four_corners); }
void BM_scale_nonneg(benchmark::State& st) {
  run_binary(st, 0.0, 3.0, [](DInterval a, DInterval b) { return scale_nonneg(a.lower(), b); });
}
void BM_div(benchmark::State& st) { run_binary(st, 0.5, 3.0, [](DInterval a, DInterval b) { return a / b; }); }

}  // namespace

BENCHMARK(BM_exp_ieee);
BENCHMARK(BM_exp_libm);
BENCHMARK(BM_exp_ieee_point);
BENCHMARK(BM_exp_libm_point);
BENCHMARK(BM_log_ieee);
BENCHMARK(BM_log_libm);
BENCHMARK(BM_mul_mixed_signs);
BENCHMARK(BM_mul_mixed_signs_four_corners);
BENCHMARK(BM_mul_nonneg);
BENCHMARK(BM_mul_nonneg_four_corners);
BENCHMARK(BM_scale_nonneg);
BENCHMARK(BM_div);
BENCHMARK_MAIN();
