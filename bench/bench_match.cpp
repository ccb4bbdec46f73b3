// Benchmarks of the Match2 / Match3 checkers and the Theorem 7 reduction (docs/performance.md).
#include <benchmark/benchmark.h>

#include "enumerate/parallel.hpp"
#include "proofs/match2_trig.hpp"
#include "proofs/match3_local.hpp"
#include "proofs/match3_third_order.hpp"
#include "proofs/theorem7_match3_disj.hpp"

using namespace attnbounds;

static void BM_Match2Check_N8_M16(benchmark::State& state) {
  const unsigned threads = static_cast<unsigned>(state.range(0));
  for (auto _ : state) {
    auto r = check_match2(Match2Config{8, 16, std::nullopt, Semantics{}, false}, threads, false);
    benchmark::DoNotOptimize(r);
  }
  state.counters["cases"] = 16.0 * 170544.0;
}
BENCHMARK(BM_Match2Check_N8_M16)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

static void BM_Match2Case(benchmark::State& state) {
  Match2Model m(16, match2_default_temperature(8, 16), Semantics{}, false);
  const int vals[] = {0, 3, 5, 7, 9, 11, 13, 15}, counts[] = {1, 1, 1, 1, 1, 1, 1, 1};
  for (auto _ : state) benchmark::DoNotOptimize(match2_case(m, 3, vals, counts, 8));
}
BENCHMARK(BM_Match2Case);

static void BM_Match3ThirdOrder_N6_M9(benchmark::State& state) {
  const unsigned threads = static_cast<unsigned>(state.range(0));
  for (auto _ : state) {
    auto r = check_match3_third_order(Match3Config{6, 9, std::nullopt, Semantics{}, false}, threads, false);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Match3ThirdOrder_N6_M9)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

static void BM_Match3Hinted_N10_M8_q3(benchmark::State& state) {
  for (auto _ : state) {
    auto r = check_match3_local(Match3LocalConfig{false, 10, 8, 3, std::nullopt, Semantics{}}, 2, false);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_Match3Hinted_N10_M8_q3)->Unit(benchmark::kMillisecond);

static void BM_Theorem7ReductionSearchAndVerify(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  for (auto _ : state) {
    auto r = find_match3_disj_reduction(n, 2, 8 * n + 16);
    benchmark::DoNotOptimize(verify_match3_disj(*r, 2));
  }
}
BENCHMARK(BM_Theorem7ReductionSearchAndVerify)->Arg(6)->Arg(8)->Unit(benchmark::kMillisecond);

static void BM_Theorem7Lower_n8(benchmark::State& state) {
  Match3DisjOptions o;
  o.n = 8;
  o.semantics = parse_semantics("tiled:float:24:8");
  for (auto _ : state) benchmark::DoNotOptimize(lower_match3_disj(o, 2));
}
BENCHMARK(BM_Theorem7Lower_n8)->Unit(benchmark::kMillisecond)->Iterations(1);

BENCHMARK_MAIN();
