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

// r_j = −c·p_S(j) as the checker's DInterval, for p = p_S(j) ≥ 1.
DInterval cyclic_score(const DInterval& c, Int128 p) { return -(c * dinterval_of(p)); }

// The smallest integer P ≥ 1 such that every p ≥ P has cyclic_score(c, p).upper() below
// kQsaUnderflowScore, so that exp of the score is replaced by qsa_underflow_term() in the
// checker; 0 when there is none below 2^53 (or c ≤ 0).
// Why p ≥ P suffices: for 1 ≤ p ≤ 2^53, dinterval_of(p) is the point p; above, its lower end is
// down(fl(p)) ≥ 2^53 − 1.  With c = [cl, ch], cl > 0, the product's lower end is down(fl(cl·pl)),
// non-decreasing in pl, and the score's upper end is minus that.  P is found among the points
// 1..2^53 − 1, so every p ≥ P has pl ≥ P and its score is at least as far below the threshold.
Int128 underflow_threshold(const DInterval& c) {
  if (!(c.lower() > 0)) return 0;
  auto below = [&](std::int64_t p) { return cyclic_score(c, p).upper() < kQsaUnderflowScore; };
  std::int64_t lo = 1, hi = (std::int64_t{1} << 53) - 1;
  if (!below(hi)) return 0;
  while (lo < hi) {  // invariant: below(hi); every p < lo is not below
    const std::int64_t mid = lo + (hi - lo) / 2;
    if (below(mid)) hi = mid;
    else lo = mid + 1;
  }
  return hi;
}

// Integer scores: r_j = −c·p_S(j) relative to the row maximum (0, attained on S).
class CyclicRowWorker : public QsaRowWorker {
 public:
  CyclicRowWorker(int N, int q, const Rational& c)
      : N_(N), q_(q), c_(c), c_fast_(dinterval_of(c)), S_(q), threshold_(underflow_threshold(c_fast_)) {
    if (threshold_ > 0) {
      // A token j with p_S(j) < P has (j − s)² ≤ P − 1 for every s in S, in particular for the
      // nearest one: it lies within `reach_` of S.
      Int128 r = 0;
      while ((r + 1) * (r + 1) <= threshold_ - 1 && r < N_) ++r;
      reach_ = static_cast<int>(r);
    }
  }
  bool row(const int* S, DInterval* r) override {
    for (int k = 0; k < q_; ++k) S_[k] = S[k];
    for (int j = 0; j < N_; ++j) {
      Int128 p = 1;
      for (int k = 0; k < q_; ++k) {
        const Int128 diff = j - S[k];
        p *= diff * diff;
      }
      r[j] = p == 0 ? DInterval(0.0) : cyclic_score(c_fast_, p);
    }
    return true;
  }
  // The fused row: every score is 0 on S, so qsa_row_error_fast takes its equal-on-S branch,
  // E = 2·off/(q + off), off = Σ_{j ∉ S} e_j added in increasing j.  Terms with p_S(j) ≥ P are
  // exactly qsa_underflow_term(); they are decided in integers (the product stops as soon as it
  // reaches P — every factor is ≥ 1) or without any work when j is farther than reach_ from S,
  // and each run of them is added at once by qsa_add_underflow_terms.  Same operations, same
  // order, same doubles as row() + qsa_row_error_fast.
  bool row_error(const int* S, DInterval& E) override {
    for (int k = 0; k < q_; ++k) S_[k] = S[k];
    const DInterval tiny = qsa_underflow_term();
    DInterval off(0.0);
    std::uint64_t pending = 0;  // underflowed terms not yet added
    auto near_term = [&](int j) {
      Int128 p = 1;
      for (int k = 0; k < q_; ++k) {
        const Int128 diff = j - S[k];
        p *= diff * diff;
        if (threshold_ > 0 && p >= threshold_) {
          ++pending;
          return;
        }
      }
      const DInterval r = cyclic_score(c_fast_, p);
      off = qsa_add_underflow_terms(off, pending);
      pending = 0;
      off += r.upper() < kQsaUnderflowScore ? tiny : exp(r);
    };
    if (threshold_ == 0) {
      for (int j = 0, k = 0; j < N_; ++j) {
        if (k < q_ && S[k] == j) {
          ++k;
          continue;
        }
        near_term(j);
      }
    } else {
      int j = 0;  // next token not yet accounted for
      for (int k = 0; k < q_;) {
        // The merged window [a, b] of the members S[k..k2] whose reaches overlap.
        const int a = std::max(j, S[k] - reach_);
        int b = std::min(N_ - 1, S[k] + reach_);
        int k2 = k;
        while (k2 + 1 < q_ && S[k2 + 1] - reach_ <= b + 1) b = std::min(N_ - 1, S[++k2] + reach_);
        pending += static_cast<std::uint64_t>(a - j);  // tokens before the window are far
        for (int t = a, m = k; t <= b; ++t) {
          if (m <= k2 && S[m] == t) {
            ++m;
            continue;
          }
          near_term(t);
        }
        j = b + 1;
        k = k2 + 1;
      }
      pending += static_cast<std::uint64_t>(N_ - j);
    }
    off = qsa_add_underflow_terms(off, pending);
    E = DInterval(2.0) * off / (DInterval(q_) + off);
    return true;
  }
  std::vector<Rational> exact_differences() override {
    std::vector<Rational> out(N_);
    for (int j = 0; j < N_; ++j) {
      Int128 p = 1;
      for (int k = 0; k < q_; ++k) {
        const Int128 diff = j - S_[k];
        p *= diff * diff;
      }
      out[j] = -c_ * rational_of(p);
    }
    return out;
  }

 private:
  int N_, q_;
  Rational c_;
  DInterval c_fast_;
  std::vector<int> S_;
  Int128 threshold_;  // P of underflow_threshold (0: none)
  int reach_ = 0;
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

std::string QsaCyclicEmbedding::row_pruning() const {
  return "far tokens pruned: a token whose certified score -c p_S(j) (relative to the row maximum) lies below -746, "
         "decided from the integer p_S(j), has e^score < 2^-1074 and is enclosed by [0, 2^-1074] without evaluating exp";
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
