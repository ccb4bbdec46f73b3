// Benchmarks of the qSA checkers (Theorems 2 and 3).  Numbers go to docs/performance.md.
#include <benchmark/benchmark.h>

#include "certify/qsa_checker.hpp"
#include "proofs/theorem2_qsa_rip.hpp"
#include "proofs/theorem3_qsa_cyclic.hpp"

using namespace attnbounds;

namespace {

QsaEmbeddingParams params(int N, int q, Rational eps) {
  QsaEmbeddingParams p;
  p.N = N;
  p.q = q;
  p.eps = eps;
  return p;
}

QsaCheckResult check(const QsaEmbedding& e, const Rational& eps, unsigned threads, const std::string& sem = "exact") {
  QsaCheckOptions o;
  o.eps = eps;
  o.threads = threads;
  o.semantics = parse_semantics(sem);
  return check_qsa(e, o);
}

// Exhaustive certified check of the moment-curve construction: args N, q, threads.
void BM_CyclicCheck(benchmark::State& state) {
  const int N = static_cast<int>(state.range(0)), q = static_cast<int>(state.range(1));
  QsaCyclicEmbedding e(params(N, q, Rational(1, 100)));
  std::uint64_t cases = 0;
  for (auto _ : state) {
    QsaCheckResult r = check(e, Rational(1, 100), static_cast<unsigned>(state.range(2)));
    if (r.verdict != Verdict::Holds) state.SkipWithError("claim did not hold");
    cases = r.cases;
  }
  state.counters["subsets"] = static_cast<double>(cases);
  state.counters["subsets/s"] = benchmark::Counter(static_cast<double>(cases), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_CyclicCheck)->Args({32, 3, 1})->Args({64, 3, 1})->Args({64, 3, 2})->Args({64, 4, 2})->Unit(benchmark::kMillisecond)->UseRealTime();

// The same under embed:float:40 (exact rational scores per row, no integer fast path).
void BM_CyclicCheckEmbed(benchmark::State& state) {
  QsaCyclicEmbedding e(params(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)), Rational(1, 10)));
  for (auto _ : state) benchmark::DoNotOptimize(check(e, Rational(1, 10), 2, "embed:float:40"));
}
BENCHMARK(BM_CyclicCheckEmbed)->Args({32, 2})->Unit(benchmark::kMillisecond)->UseRealTime();

// Random-sign construction: certificates (least-norm, then GLPK LP) + exact verification + rows.
void BM_RipCheck(benchmark::State& state) {
  QsaRipEmbedding e(params(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)), Rational(1, 10)));
  for (auto _ : state) benchmark::DoNotOptimize(check(e, Rational(1, 10), 2));
}
BENCHMARK(BM_RipCheck)->Args({32, 2})->Args({64, 2})->Unit(benchmark::kMillisecond)->UseRealTime();

// min-m search (binary search over m', early exit on the first S without a certificate).
void BM_RipMinM(benchmark::State& state) {
  for (auto _ : state)
    benchmark::DoNotOptimize(rip_min_mk(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)), 1, "lp", 512, 2));
}
BENCHMARK(BM_RipMinM)->Args({32, 3})->Args({64, 3})->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(1);

// One row of the DInterval filter (N = 64): the hot loop's unit of work.
void BM_RowFilter(benchmark::State& state) {
  const int N = 64, q = 4;
  std::vector<DInterval> r(N), e(N);
  std::vector<std::uint8_t> in_S(N, 0);
  for (int j = 0; j < N; ++j) r[j] = DInterval(-8.0 * (j % 7));
  for (int k = 0; k < q; ++k) {
    in_S[k * 7] = 1;
  }
  for (auto _ : state) benchmark::DoNotOptimize(qsa_row_error_fast(r.data(), in_S.data(), N, q, e.data()));
}
BENCHMARK(BM_RowFilter);

}  // namespace

BENCHMARK_MAIN();
