// Communication-complexity engine: D with bounds (the default), the plain exhaustive search,
// exact rank and the maximum fooling set.
#include <benchmark/benchmark.h>

#include <random>

#include "cc/cc.hpp"

using namespace attnbounds::cc;

static void BM_AnalyseDisj(benchmark::State& state) {
  const auto M = make_disj(static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(analyse(M));
}
BENCHMARK(BM_AnalyseDisj)->DenseRange(1, 6)->Unit(benchmark::kMillisecond);

static void BM_AnalyseEq(benchmark::State& state) {
  const auto M = make_eq(static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(analyse(M));
}
BENCHMARK(BM_AnalyseEq)->DenseRange(1, 6)->Unit(benchmark::kMillisecond);

// No bounds, no trivial-protocol shortcut: the search alone.
static void BM_PlainSearchDisj(benchmark::State& state) {
  const auto M = make_disj(static_cast<int>(state.range(0)));
  CcOptions o;
  o.prune = false;
  for (auto _ : state) benchmark::DoNotOptimize(analyse(M, o));
}
BENCHMARK(BM_PlainSearchDisj)->DenseRange(1, 3)->Unit(benchmark::kMillisecond);

static void BM_PlainSearchRandom(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  std::mt19937_64 rng(5);
  BoolMatrix M;
  M.rows = M.cols = n;
  for (int x = 0; x < n; ++x) {
    IndexSet row;
    row.w[0] = rng() & ((1ULL << n) - 1);
    M.row_bits.push_back(row);
  }
  CcOptions o;
  o.prune = false;
  for (auto _ : state) benchmark::DoNotOptimize(analyse(M, o));
}
BENCHMARK(BM_PlainSearchRandom)->DenseRange(4, 7)->Unit(benchmark::kMillisecond);

static void BM_RankRational(benchmark::State& state) {
  const auto M = make_disj(static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(rank_rational(M));
}
BENCHMARK(BM_RankRational)->DenseRange(4, 6)->Unit(benchmark::kMillisecond);

static void BM_FoolingSetDisj(benchmark::State& state) {
  const auto M = make_disj(static_cast<int>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(max_fooling_set(M, 1));
}
BENCHMARK(BM_FoolingSetDisj)->DenseRange(2, 6)->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
