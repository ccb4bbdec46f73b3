#include "proofs/theorem3_qsa_cyclic.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "core/config_error.hpp"
#include "enumerate/combinatorics.hpp"

namespace attnbounds {

namespace {

Rational rational_of(Int128 x) {
  const bool neg = x < 0;
  UInt128 u = neg ? static_cast<UInt128>(-(x + 1)) + 1 : static_cast<UInt128>(x);
  mpz_class hi(static_cast<unsigned long>(static_cast<std::uint64_t>(u >> 64)));
  mpz_class lo(static_cast<unsigned long>(static_cast<std::uint64_t>(u)));
  mpz_class v = (hi << 64) + lo;
  return Rational(neg ? mpz_class(-v) : v);
}

// Integer scores: r_j = −c·p_S(j) relative to the row maximum (0, attained on S).
class CyclicRowWorker : public QsaRowWorker {
 public:
  CyclicRowWorker(int N, int q, const Rational& c)
      : N_(N), q_(q), c_(c), c_fast_(dinterval_of(c)), p_(N), S_(q) {}
  bool row(const int* S, DInterval* r) override {
    for (int k = 0; k < q_; ++k) S_[k] = S[k];
    for (int j = 0; j < N_; ++j) {
      Int128 p = 1;
      for (int k = 0; k < q_; ++k) {
        const Int128 diff = j - S[k];
        p *= diff * diff;
      }
      p_[j] = p;
      r[j] = p == 0 ? DInterval(0.0) : -(c_fast_ * dinterval_of(p));
    }
    return true;
  }
  std::vector<Rational> exact_differences() override {
    std::vector<Rational> out(N_);
    for (int j = 0; j < N_; ++j) out[j] = -c_ * rational_of(p_[j]);
    return out;
  }

 private:
  int N_, q_;
  Rational c_;
  DInterval c_fast_;
  std::vector<Int128> p_;
  std::vector<int> S_;
};

class CyclicQueryWorker : public QsaQueryWorker {
 public:
  explicit CyclicQueryWorker(const QsaCyclicEmbedding& e) : e_(e) {}
  std::optional<std::vector<Rational>> query(const std::vector<int>& S) override { return e_.query(S); }

 private:
  const QsaCyclicEmbedding& e_;
};

}  // namespace

QsaCyclicEmbedding::QsaCyclicEmbedding(const QsaEmbeddingParams& p) : N_(p.N), q_(p.q), d_(p.d) {
  p.validate();
  // p_S(j) < N^{2q} must fit the 128-bit fast path.
  double bits = 2.0 * q_ * std::log2(static_cast<double>(N_));
  if (bits > 120)
    throw ConfigError("N", "qsa-cyclic needs N^(2q) below 2^120 (got 2^" + std::to_string(bits) + " with q = " +
                               std::to_string(q_) + ")");
  c_ = p.c ? *p.c : default_temperature(N_, q_, p.eps);
  keys_ = Mat<Rational>(N_, 2 * q_);
  for (int j = 0; j < N_; ++j) {
    Integer pw = 1;
    for (int r = 0; r < 2 * q_; ++r) {
      pw *= (j + 1);
      keys_(j, r) = Rational(pw);
    }
  }
}

Rational QsaCyclicEmbedding::default_temperature(int N, int q, const Rational& eps) {
  return qsa_default_temperature(N, q, eps, Rational(1));
}

std::vector<Integer> QsaCyclicEmbedding::polynomial(const std::vector<int>& S) {
  std::vector<Integer> a{1};
  for (int k : S) {
    const Integer node = k + 1;
    for (int twice = 0; twice < 2; ++twice) {  // multiply by (t − node)
      std::vector<Integer> b(a.size() + 1, 0);
      for (std::size_t r = 0; r < a.size(); ++r) {
        b[r + 1] += a[r];
        b[r] -= node * a[r];
      }
      a = std::move(b);
    }
  }
  return a;
}

std::vector<Rational> QsaCyclicEmbedding::query(const std::vector<int>& S) const {
  if (static_cast<int>(S.size()) != q_) throw std::invalid_argument("qsa-cyclic: query needs exactly q indices");
  std::vector<Integer> a = polynomial(S);
  std::vector<Rational> w(2 * q_);
  for (int r = 1; r <= 2 * q_; ++r) w[r - 1] = -c_ * Rational(a[r]);
  return w;
}

std::unique_ptr<QsaRowWorker> QsaCyclicEmbedding::exact_row_worker() const {
  return std::make_unique<CyclicRowWorker>(N_, q_, c_);
}
std::unique_ptr<QsaQueryWorker> QsaCyclicEmbedding::query_worker() const {
  return std::make_unique<CyclicQueryWorker>(*this);
}

std::uint64_t verify_q_neighbourly(int N, int q) {
  QsaEmbeddingParams params;
  params.N = N;
  params.q = q;
  params.c = Rational(1);
  QsaCyclicEmbedding emb(params);
  std::vector<int> S(q);
  for (int k = 0; k < q; ++k) S[k] = k;
  std::uint64_t count = 0;
  do {
    const Integer a0 = QsaCyclicEmbedding::polynomial(S)[0];
    const std::vector<Rational> w = emb.query(S);  // −(a_1..a_{2q}) with c = 1
    std::vector<std::uint8_t> in_S(N, 0);
    for (int k : S) in_S[k] = 1;
    for (int j = 0; j < N; ++j) {
      Rational score = 0;
      for (int r = 0; r < 2 * q; ++r) score += w[r] * emb.keys()(j, r);
      const bool ok = in_S[j] ? score == Rational(a0) : score <= Rational(a0 - 1);
      if (!ok) {
        std::string s;
        for (int k : S) s += std::to_string(k + 1) + " ";
        throw std::logic_error("supporting hyperplane check failed for S = { " + s + "} at j = " + std::to_string(j + 1));
      }
    }
    ++count;
  } while (next_subset(S.data(), q, N));
  return count;
}

std::vector<std::vector<int>> gale_facets(int n, int d) {
  std::vector<std::vector<int>> facets;
  if (d < 1 || d > n) return facets;
  std::vector<int> F(d);
  for (int k = 0; k < d; ++k) F[k] = k;
  std::vector<std::uint8_t> in(n);
  do {
    std::fill(in.begin(), in.end(), 0);
    for (int k : F) in[k] = 1;
    bool facet = true;
    for (int i = 0; i < n && facet; ++i) {
      if (in[i]) continue;
      int between = 0;
      for (int j = i + 1; j < n && facet; ++j) {
        if (in[j]) ++between;
        else if (between % 2 != 0) facet = false;
      }
    }
    if (facet) facets.push_back(F);
  } while (next_subset(F.data(), d, n));
  return facets;
}

std::uint64_t cyclic_facet_count(int n, int k) { return static_cast<std::uint64_t>(n) * binomial(n - k, k) / (n - k); }

bool gale_q_neighbourly(int N, int q) {
  if (N > 64) throw ConfigError("N", "the Gale cross-check needs N <= 64");
  std::vector<std::uint64_t> masks;
  for (const auto& F : gale_facets(N, 2 * q)) {
    std::uint64_t m = 0;
    for (int k : F) m |= std::uint64_t{1} << k;
    masks.push_back(m);
  }
  std::vector<int> S(q);
  for (int k = 0; k < q; ++k) S[k] = k;
  do {
    std::uint64_t s = 0;
    for (int k : S) s |= std::uint64_t{1} << k;
    bool found = false;
    for (std::uint64_t m : masks) found = found || (m & s) == s;
    if (!found) return false;
  } while (next_subset(S.data(), q, N));
  return true;
}

void write_lrs(std::ostream& os, int N, int q) {
  os << "cyclic_polytope_C(" << N << "," << 2 * q << ")\n";
  os << "* moment curve points u_j = (j, j^2, ..., j^" << 2 * q << "), j = 1.." << N << " (attnbounds qsa-cyclic)\n";
  os << "V-representation\nbegin\n" << N << " " << 2 * q + 1 << " integer\n";
  for (int j = 1; j <= N; ++j) {
    os << "1";
    Integer pw = 1;
    for (int r = 0; r < 2 * q; ++r) {
      pw *= j;
      os << " " << pw.get_str();
    }
    os << "\n";
  }
  os << "end\n";
}

namespace {
const bool registered = [] {
  register_qsa_embedding("qsa-cyclic", [](const QsaEmbeddingParams& p) -> std::unique_ptr<QsaEmbedding> {
    return std::make_unique<QsaCyclicEmbedding>(p);
  });
  return true;
}();
}  // namespace

}  // namespace attnbounds
