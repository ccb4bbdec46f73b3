// Numeric engines on the hot operation of every checker: one softmax row of N = 64 scores.
// double (uncertified), DInterval (certified double filter), Interval (MPFI) and MpfrReal at
// 53 and 128 bits, and FormatReal (arith:float:24).  Numbers go to docs/performance.md.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "model/attention.hpp"

using namespace attnbounds;

namespace {

constexpr std::size_t kN = 64;

std::vector<double> scores() {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> u(-10.0, 10.0);
  std::vector<double> s(kN);
  for (auto& x : s) x = u(rng);
  return s;
}

template <class T, class Make>
void run_softmax(benchmark::State& state, Make make) {
  const auto raw = scores();
  std::vector<T> s, w;
  for (double x : raw) s.push_back(make(x));
  w = s;
  for (auto _ : state) {
    softmax(s.data(), kN, w.data());
    benchmark::DoNotOptimize(w.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kN));
}

void BM_softmax_double(benchmark::State& st) { run_softmax<double>(st, [](double x) { return x; }); }
void BM_softmax_DInterval(benchmark::State& st) { run_softmax<DInterval>(st, [](double x) { return DInterval(x); }); }
void BM_softmax_Interval53(benchmark::State& st) {
  WorkingPrecision wp(53);
  run_softmax<Interval>(st, [](double x) { return Interval(x, 53); });
}
void BM_softmax_Interval128(benchmark::State& st) {
  WorkingPrecision wp(128);
  run_softmax<Interval>(st, [](double x) { return Interval(x, 128); });
}
void BM_softmax_MpfrReal53(benchmark::State& st) {
  WorkingPrecision wp(53);
  run_softmax<MpfrReal>(st, [](double x) { return MpfrReal(x, 53); });
}
void BM_softmax_MpfrReal128(benchmark::State& st) {
  WorkingPrecision wp(128);
  run_softmax<MpfrReal>(st, [](double x) { return MpfrReal(x, 128); });
}
void BM_softmax_FormatReal_fp32(benchmark::State& st) {
  ArithFormatScope scope(Format::float_bits(24));
  run_softmax<FormatReal>(st, [](double x) { return FormatReal(x); });
}

}  // namespace

BENCHMARK(BM_softmax_double);
BENCHMARK(BM_softmax_DInterval);
BENCHMARK(BM_softmax_Interval53);
BENCHMARK(BM_softmax_Interval128);
BENCHMARK(BM_softmax_MpfrReal53);
BENCHMARK(BM_softmax_MpfrReal128);
BENCHMARK(BM_softmax_FormatReal_fp32);
BENCHMARK_MAIN();
