// Uncertified peer of `attnbounds check qsa-cyclic` (exact semantics): a plain double loop.
// For every q-subset S of [N] the scores are -c * p_S(j), p_S(j) = prod_{k in S} (j - k)^2, and
// the worst case over z is sum_j |a_j - t_j| with a = softmax(scores), t = 1_S / q.  Terms with a
// score below -745 are skipped (e^-745 is below the smallest subnormal).  No outward rounding,
// no enclosure: a float64 estimate, for speed comparisons only.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: qsa_cyclic_loop N q c\n");
    return 2;
  }
  const int N = std::atoi(argv[1]), q = std::atoi(argv[2]);
  const double c = std::strtod(argv[3], nullptr);
  if (N < 2 || q < 1 || q >= N || !(c > 0)) {
    std::fprintf(stderr, "qsa_cyclic_loop: need 1 <= q < N and c > 0\n");
    return 2;
  }
  std::vector<int> S(q);
  for (int k = 0; k < q; ++k) S[k] = k;
  std::vector<double> e(N);
  std::vector<char> in_S(N, 0);
  double worst = -1;
  std::vector<int> worst_S;
  bool lost = false;  // the worst row's on-set deficit 1/q - a_j rounded to zero
  unsigned long long cases = 0;
  for (;;) {
    for (int k = 0; k < q; ++k) in_S[S[k]] = 1;
    double Z = 0;
    for (int j = 0; j < N; ++j) {
      double p = 1;
      for (int k = 0; k < q; ++k) {
        const double d = j - S[k];
        p *= d * d;
      }
      const double s = -c * p;
      e[j] = s < -745.0 ? 0.0 : std::exp(s);
      Z += e[j];
    }
    double err = 0;
    for (int j = 0; j < N; ++j) err += std::fabs(e[j] / Z - (in_S[j] ? 1.0 / q : 0.0));
    if (err > worst) {
      worst = err;
      worst_S = S;
      double off = 0;
      for (int j = 0; j < N; ++j) off += in_S[j] ? 0.0 : e[j];
      lost = off > 0;
      for (int k = 0; k < q; ++k) lost = lost && e[S[k]] / Z == 1.0 / q;
    }
    for (int k = 0; k < q; ++k) in_S[S[k]] = 0;
    ++cases;
    int k = q - 1;  // next subset in lexicographic order
    while (k >= 0 && S[k] == N - q + k) --k;
    if (k < 0) break;
    ++S[k];
    for (int i = k + 1; i < q; ++i) S[i] = S[i - 1] + 1;
  }
  std::printf("{\"peer\": \"cpp-loop\", \"claim\": \"qsa-cyclic\", \"cases\": %llu, \"worst\": %.17g, \"witness_S\": [", cases,
              worst);
  for (int k = 0; k < q; ++k) std::printf("%s%d", k ? ", " : "", worst_S[k]);
  std::printf("], \"on_set_deficit_lost\": %s}\n", lost ? "true" : "false");
  return 0;
}
