#include "core/config_error.hpp"
#include "proofs/match3_local.hpp"

#include <algorithm>
#include <cmath>

#include "core/elapsed_timer.hpp"
#include "core/field_checks.hpp"
#include "core/filtered_sweep.hpp"
#include "core/size_limit_error.hpp"
#include "enumerate/combinatorics.hpp"
#include "enumerate/parallel.hpp"
#include "model/attention.hpp"
#include "model/turn_table.hpp"
#include "proofs/match_common.hpp"

namespace attnbounds {

std::vector<std::uint8_t> match3_hinted_truth(const std::vector<int>& x, const std::vector<std::vector<int>>& y, int M) {
  std::vector<std::uint8_t> out(x.size(), 0);
  for (std::size_t i = 0; i < x.size(); ++i)
    for (int j1 : y[i])
      for (int j2 : y[i])
        if (((x[i] + x[static_cast<std::size_t>(j1)] + x[static_cast<std::size_t>(j2)]) % M + M) % M == 0) out[i] = 1;
  return out;
}

std::vector<std::vector<int>> window_hints(int N, int w) {
  std::vector<std::vector<int>> y(static_cast<std::size_t>(N));
  for (int i = 0; i < N; ++i) {
    for (int d = 1; d <= w; ++d) y[static_cast<std::size_t>(i)].push_back((i + d) % N);
    std::sort(y[static_cast<std::size_t>(i)].begin(), y[static_cast<std::size_t>(i)].end());
  }
  return y;
}

std::optional<std::vector<int>> decode_power_sums(const std::vector<Integer>& P, int M) {
  const int q = static_cast<int>(P.size());
  // Newton: k e_k = Σ_{i=1..k} (−1)^{i−1} e_{k−i} P_i.
  std::vector<Rational> e(static_cast<std::size_t>(q) + 1);
  e[0] = 1;
  for (int k = 1; k <= q; ++k) {
    Rational acc = 0;
    for (int i = 1; i <= k; ++i) acc += ((i % 2) ? 1 : -1) * e[static_cast<std::size_t>(k - i)] * Rational(P[static_cast<std::size_t>(i - 1)]);
    e[static_cast<std::size_t>(k)] = acc / k;
  }
  // f(t) = Σ_k (−1)^k e_k t^{q−k}, coefficients from the leading one down.
  std::vector<Rational> f(static_cast<std::size_t>(q) + 1);
  for (int k = 0; k <= q; ++k) f[static_cast<std::size_t>(k)] = ((k % 2) ? -1 : 1) * e[static_cast<std::size_t>(k)];
  std::vector<int> roots;
  for (int r = 0; r < M && !f.empty(); ++r) {
    for (;;) {
      if (f.size() < 2) break;
      // Synthetic division by (t − r): remainder is f(r).
      std::vector<Rational> quotient(f.size() - 1);
      Rational acc = 0;
      for (std::size_t i = 0; i + 1 < f.size(); ++i) {
        acc = acc * r + f[i];
        quotient[i] = acc;
      }
      Rational remainder = acc * r + f.back();
      if (remainder != 0) break;
      roots.push_back(r);
      f = std::move(quotient);
    }
  }
  if (static_cast<int>(roots.size()) != q) return std::nullopt;
  return roots;
}

Rational match3_local_default_temperature(int N, int M, int q) {
  if (N <= q) return Rational(1);
  // ε = 1/(4q(M−1)^q); need ((N−q)/q)e^{−c} ≤ ε/(1−ε), i.e. c ≥ ln((N−q)(1/ε − 1)/q).
  const double inv_eps = 4.0 * q * std::pow(std::max(1, M - 1), q);
  const double need = std::log((N - q) * (inv_eps - 1.0) / q);
  return Rational(static_cast<long>(std::ceil(need)) + 1);
}

namespace {

// The unit the checker runs on: the source's tables, every entry rounded by the semantics.
struct LocalModel {
  int N, M, q, K;
  SemanticsPolicy policy;
  Match3LocalUnit::QueryOf raw_query;    // the source's query of a hint set (unrounded)
  Mat<Rational> keys;                    // N × K (rounded)
  std::vector<std::vector<Rational>> enc;  // M × q (rounded value table)
  std::vector<Rational> rounding_error;  // ρ_k = max_x |enc_k(x) − x^k|
  std::vector<Rational> value_range;     // R_k = max_x enc_k(x) − min_x enc_k(x)

  Rational stored(const Rational& v) const { return policy.stored(v); }

  LocalModel(const Match3LocalUnit& u, SemanticsPolicy p)
      : N(u.N), M(u.M), q(u.q), K(u.key_width), policy(std::move(p)), raw_query(u.query_of) {
    keys = Mat<Rational>(static_cast<std::size_t>(N), static_cast<std::size_t>(K));
    for (int j = 0; j < N; ++j)
      for (int r = 0; r < K; ++r)
        keys(static_cast<std::size_t>(j), static_cast<std::size_t>(r)) = stored(u.keys[static_cast<std::size_t>(j * K + r)]);
    rounding_error.assign(static_cast<std::size_t>(q), Rational(0));
    value_range.assign(static_cast<std::size_t>(q), Rational(0));
    std::vector<Rational> lo(static_cast<std::size_t>(q)), hi(static_cast<std::size_t>(q));
    for (int x = 0; x < M; ++x) {
      std::vector<Rational> row;
      Rational p = 1;
      for (int k = 0; k < q; ++k) {
        p *= x;
        Rational v = stored(u.values[static_cast<std::size_t>(x * q + k)]);
        row.push_back(v);
        rounding_error[static_cast<std::size_t>(k)] = std::max(rounding_error[static_cast<std::size_t>(k)], Rational(abs(v - p)));
        if (x == 0 || v < lo[static_cast<std::size_t>(k)]) lo[static_cast<std::size_t>(k)] = v;
        if (x == 0 || v > hi[static_cast<std::size_t>(k)]) hi[static_cast<std::size_t>(k)] = v;
      }
      enc.push_back(row);
    }
    for (int k = 0; k < q; ++k) value_range[static_cast<std::size_t>(k)] = hi[static_cast<std::size_t>(k)] - lo[static_cast<std::size_t>(k)];
  }

  // Query of a token whose hint set is S (0-based positions), rounded.
  std::vector<Rational> query(const std::vector<int>& S) const { return policy.stored(raw_query(S)); }

  // Exact scores of the row for S, shifted so that the maximum is 0.
  std::vector<Rational> shifted_scores(const std::vector<int>& S) const {
    auto w = query(S);
    std::vector<Rational> s(static_cast<std::size_t>(N));
    for (int j = 0; j < N; ++j) {
      Rational acc = 0;
      for (int r = 0; r < K; ++r) acc += w[static_cast<std::size_t>(r)] * keys(static_cast<std::size_t>(j), static_cast<std::size_t>(r));
      s[static_cast<std::size_t>(j)] = acc;
    }
    Rational mx = *std::max_element(s.begin(), s.end());
    for (auto& v : s) v -= mx;
    return s;
  }
};

// Certified upper bound of max_k q·|out_k − P_k/q| over every x, for the row of S.
template <class T, class Make>
T decode_error(const LocalModel& m, const std::vector<Rational>& shifted, const std::vector<int>& S, Make&& make) {
  using std::exp;
  const std::size_t N = shifted.size();
  std::vector<T> a(N);
  T den(0);
  for (std::size_t j = 0; j < N; ++j) {
    a[j] = exp(make(shifted[j]));
    den += a[j];
  }
  std::vector<char> in_S(N, 0);
  for (int j : S) in_S[static_cast<std::size_t>(j)] = 1;
  T l1(0);
  const T target = T(1) / T(m.q);
  for (std::size_t j = 0; j < N; ++j) {
    T d = a[j] / den - (in_S[j] ? target : T(0));
    l1 += abs(d);
  }
  T worst(0);
  for (int k = 0; k < m.q; ++k) {
    T e = T(m.q) * (l1 / T(2) * make(m.value_range[static_cast<std::size_t>(k)]) + make(m.rounding_error[static_cast<std::size_t>(k)]));
    if (k == 0 || score_less(worst, e)) worst = e;
  }
  return worst;
}

// One row's certified decode-error bound [lo, hi]; exact_below_half is set when the bound is an
// exact rational (arith) and says whether it is < 1/2.
struct RowBound {
  double lo = 0, hi = 0;
  std::optional<bool> exact_below_half;
  bool certified() const { return exact_below_half ? *exact_below_half : hi < 0.5; }
  // Filtered-sweep outcome: certified rows hold; the others stay open (a row whose bound is
  // not below 1/2 is not a counterexample: the verdict then needs a concrete input).
  CaseState state() const { return certified() ? CaseState::Holds : CaseState::Open; }
  bool settled() const { return exact_below_half.has_value() || hi < 0.5 || lo >= 0.5; }
  double rank() const { return -hi; }  // the largest bound is the tightest row
  int group() const { return 0; }
};


// Arith: the attention row of a query with hint set S, every operation rounded in attention.hpp's
// order (exact rationals; it depends on S only).
std::vector<Rational> arith_row(const LocalModel& m, const std::vector<int>& S) {
  ArithFormatScope scope(m.policy.format());
  const Format fmt = m.policy.format();
  const std::size_t N = static_cast<std::size_t>(m.N), Q2 = static_cast<std::size_t>(m.K);
  auto w = m.query(S);
  QKV<FormatReal> h{Mat<FormatReal>(1, Q2), Mat<FormatReal>(N, Q2), Mat<FormatReal>(N, static_cast<std::size_t>(m.q))};
  for (std::size_t r = 0; r < Q2; ++r) h.queries(0, r) = FormatReal(w[r], fmt);
  for (std::size_t j = 0; j < N; ++j)
    for (std::size_t r = 0; r < Q2; ++r) h.keys(j, r) = FormatReal(m.keys(j, r), fmt);
  std::vector<FormatReal> scores(N), weights(N);
  attention_weights(h, 0, Normaliser::Softmax, scores.data(), weights.data());
  std::vector<Rational> a;
  for (const auto& v : weights) a.push_back(v.value());
  return a;
}

// Arith: certified max_k q·|ψ's power sum estimate − P_k| over every x, exactly (rationals).
//   out_k = fl(Σ_j fl(a_j v_jk)) in index order, v_jk the stored value table entry.
//   float:P (RNE, unbounded exponent): each term meets ≤ N roundings of relative error
//   u = 2^-P, so |out_k − Σ a_j v_jk| ≤ γ_N Σ a_j |v_jk|, γ_N = N u / (1 − N u);
//   fixed:I.F: products err ≤ 2^-F-1 each and sums of grid values are exact: ≤ N 2^-F-1.
//   Then |Σ a_j v_jk − P_k/q| ≤ sup over v ∈ [lo_k, hi_k]^N of |Σ (a_j − t_j) v_j| + ρ_k, the sup
//   of a linear form over a box taken at its vertices.
Rational arith_decode_error(const LocalModel& m, const std::vector<int>& S) {
  auto a = arith_row(m, S);
  const int N = m.N;
  Rational sum_a = 0;
  for (const auto& v : a) sum_a += v;
  std::vector<char> in_S(static_cast<std::size_t>(N), 0);
  for (int j : S) in_S[static_cast<std::size_t>(j)] = 1;
  Rational worst = 0;
  for (int k = 0; k < m.q; ++k) {
    Rational lo = m.enc[0][static_cast<std::size_t>(k)], hi = lo;
    for (const auto& row : m.enc) { lo = std::min(lo, row[static_cast<std::size_t>(k)]); hi = std::max(hi, row[static_cast<std::size_t>(k)]); }
    Rational s_max = 0, s_min = 0;
    for (int j = 0; j < N; ++j) {
      Rational d = a[static_cast<std::size_t>(j)] - (in_S[static_cast<std::size_t>(j)] ? Rational(1, m.q) : Rational(0));
      s_max += std::max(Rational(d * hi), Rational(d * lo));
      s_min += std::min(Rational(d * hi), Rational(d * lo));
    }
    Rational box = std::max(Rational(abs(s_max)), Rational(abs(s_min)));
    Rational accumulation;
    // Bounded formats (underflow mixes absolute and relative error) are refused by kSemantics.
    const Format& fmt = m.policy.format();
    if (fmt.kind == Format::Kind::Bounded) throw std::logic_error("match3-local arith bound: bounded format");
    if (fmt.kind == Format::Kind::Float) {
      Integer two_p;
      mpz_ui_pow_ui(two_p.get_mpz_t(), 2, static_cast<unsigned long>(fmt.P));
      Rational nu = Rational(N) / Rational(two_p);
      // γ_N = Nu/(1−Nu) needs Nu < 1; (1+u)^N − 1 ≤ exp(Nu) − 1 always holds.  (A fixed 2^20 stood
      // here and was reported as if it were a certified bound.)
      const Rational gamma = nu < 1 ? Rational(nu / (1 - nu)) : (exp(Interval(nu, 64)) - Interval(1L, 64)).upper();
      // |Σ a_j v_j| ≤ Σ a_j·max|v| (the construction's values are ≥ 0, so max|v| = hi there).
      accumulation = gamma * sum_a * std::max(Rational(abs(hi)), Rational(abs(lo)));
    } else {
      Integer two_f;
      mpz_ui_pow_ui(two_f.get_mpz_t(), 2, static_cast<unsigned long>(fmt.F + 1));
      accumulation = Rational(N) / Rational(two_f);
    }
    Rational e = m.q * (box + accumulation + m.rounding_error[static_cast<std::size_t>(k)]);
    worst = std::max(worst, e);
  }
  return worst;
}

// The rows as a filtered-sweep problem: the row of S is certified by a DInterval bound, then
// by MPFI along the ladder; under arith the bound is an exact rational from the start.
struct LocalRowProblem {
  using Case = std::vector<int>;  // the hint set S (0-based, sorted)
  using Outcome = RowBound;
  static constexpr int groups = 1;
  const LocalModel& m;
  bool window;
  std::vector<std::vector<int>> windows;  // the window rows (window variant)

  std::uint64_t cases() const { return window ? static_cast<std::uint64_t>(m.N) : binomial(m.N, m.q); }
  unsigned outcomes_per_case() const { return 1; }
  std::vector<int> hints_of(std::uint64_t idx) const {
    if (window) return windows[idx];
    std::vector<int> S(static_cast<std::size_t>(m.q));
    unrank_subset(idx, m.N, m.q, S.data());
    return S;
  }
  template <class F>
  void enumerate(std::uint64_t begin, std::uint64_t end, F&& f) const {
    for (std::uint64_t idx = begin; idx < end; ++idx) f(idx, hints_of(idx));
  }
  void fast(const Case& S, Outcome* b) const {
    *b = RowBound{};
    if (m.policy.arith()) {
      Rational e = arith_decode_error(m, S);
      const double d = e.get_d();
      b->lo = DInterval::down(d);
      b->hi = DInterval::up(d);
      b->exact_below_half = e < Rational(1, 2);
      return;
    }
    DInterval e = decode_error<DInterval>(m, m.shifted_scores(S), S, [](const Rational& r) { return dinterval_enclosing(r); });
    b->lo = e.lower();
    b->hi = e.upper();
  }
  void exact(const Case& S, mpfr_prec_t bits, Outcome* b) const {
    if (m.policy.arith()) return fast(S, b);  // already exact
    *b = RowBound{};
    WorkingPrecision wp(bits);
    Interval ei = decode_error<Interval>(m, m.shifted_scores(S), S, [bits](const Rational& r) { return Interval(r, bits); });
    b->lo = ei.lower_double();
    b->hi = ei.upper_double();
  }
};

struct TokenOut {
  int x = 0, model = 0, truth = 0;
  bool decided = true;
  std::vector<int> decoded;
};

// Direct forward pass (attention.hpp on MPFI) and ψ.
// ψ: rounds q·out_k to the nearest integer (decided when the enclosure [lo, hi] rounds one way),
// decodes the multiset and checks every pair with x_i.
void apply_psi(TokenOut& t, const LocalModel& m, int xi, const std::vector<std::pair<Rational, Rational>>& scaled) {
  std::vector<Integer> P;
  for (const auto& [lo_v, hi_v] : scaled) {
    Integer lo_r, hi_r;
    Rational lo = lo_v + Rational(1, 2), hi = hi_v + Rational(1, 2);
    mpz_fdiv_q(lo_r.get_mpz_t(), lo.get_num_mpz_t(), lo.get_den_mpz_t());
    mpz_fdiv_q(hi_r.get_mpz_t(), hi.get_num_mpz_t(), hi.get_den_mpz_t());
    if (lo_r != hi_r) t.decided = false;
    P.push_back(lo_r);
  }
  auto dec = t.decided ? decode_power_sums(P, m.M) : std::nullopt;
  t.model = 0;  // ψ's answer when the power sums decode to no multiset
  if (dec) {
    t.decoded = *dec;
    for (int a : *dec)
      for (int b : *dec)
        if ((xi + a + b) % m.M == 0) t.model = 1;
  }
}

std::vector<TokenOut> forward_arith(const LocalModel& m, const std::vector<int>& x, const std::vector<std::vector<int>>& y) {
  ArithFormatScope scope(m.policy.format());
  const Format fmt = m.policy.format();
  const std::size_t N = x.size(), Q2 = static_cast<std::size_t>(m.K);
  QKV<FormatReal> h{Mat<FormatReal>(N, Q2), Mat<FormatReal>(N, Q2), Mat<FormatReal>(N, static_cast<std::size_t>(m.q))};
  for (std::size_t i = 0; i < N; ++i) {
    auto w = m.query(y[i]);
    for (std::size_t r = 0; r < Q2; ++r) {
      h.queries(i, r) = FormatReal(w[r], fmt);
      h.keys(i, r) = FormatReal(m.keys(i, r), fmt);
    }
    for (int k = 0; k < m.q; ++k)
      h.values(i, static_cast<std::size_t>(k)) = FormatReal(m.enc[static_cast<std::size_t>(x[i])][static_cast<std::size_t>(k)], fmt);
  }
  Mat<FormatReal> out = attention_unit(h);
  auto truth = match3_hinted_truth(x, y, m.M);
  std::vector<TokenOut> res(N);
  for (std::size_t i = 0; i < N; ++i) {
    res[i].x = x[i];
    res[i].truth = truth[i];
    std::vector<std::pair<Rational, Rational>> scaled;
    for (int k = 0; k < m.q; ++k) {
      Rational v = out(i, static_cast<std::size_t>(k)).value() * m.q;
      scaled.push_back({v, v});
    }
    apply_psi(res[i], m, x[i], scaled);
  }
  return res;
}

std::vector<TokenOut> forward(const LocalModel& m, const std::vector<int>& x, const std::vector<std::vector<int>>& y) {
  if (m.policy.arith()) return forward_arith(m, x, y);
  const std::size_t N = x.size();
  const mpfr_prec_t bits = 256;
  WorkingPrecision wp(bits);
  QKV<Interval> h{Mat<Interval>(N, static_cast<std::size_t>(m.K)), Mat<Interval>(N, static_cast<std::size_t>(m.K)),
                  Mat<Interval>(N, static_cast<std::size_t>(m.q))};
  for (std::size_t i = 0; i < N; ++i) {
    auto w = m.query(y[i]);
    for (int r = 0; r < m.K; ++r) {
      h.queries(i, static_cast<std::size_t>(r)) = Interval(w[static_cast<std::size_t>(r)], bits);
      h.keys(i, static_cast<std::size_t>(r)) = Interval(m.keys(i, static_cast<std::size_t>(r)), bits);
    }
    for (int k = 0; k < m.q; ++k)
      h.values(i, static_cast<std::size_t>(k)) = Interval(m.enc[static_cast<std::size_t>(x[i])][static_cast<std::size_t>(k)], bits);
  }
  Mat<Interval> out = attention_unit(h);
  auto truth = match3_hinted_truth(x, y, m.M);
  std::vector<TokenOut> res(N);
  for (std::size_t i = 0; i < N; ++i) {
    TokenOut& t = res[i];
    t.x = x[i];
    t.truth = truth[i];
    std::vector<std::pair<Rational, Rational>> scaled;
    for (int k = 0; k < m.q; ++k) {
      Interval sc = out(i, static_cast<std::size_t>(k)) * Interval(static_cast<long>(m.q), bits);
      scaled.push_back({sc.lower(), sc.upper()});
    }
    apply_psi(t, m, x[i], scaled);
  }
  return res;
}

// Returns the semantics policy: the check's (kSemantics), or a forward pass's (every format).
SemanticsPolicy validate(const Match3LocalConfig& cfg, bool forward_only = false) {
  check_field_range("N", cfg.N, Match3LocalConfig::kN);
  check_field_range("M", cfg.M, Match3LocalConfig::kM);
  check_field_range(cfg.window ? "w" : "q", cfg.q, Match3LocalConfig::kQ.lo,
                    std::min<long long>(cfg.N - (cfg.window ? 1 : 0), Match3LocalConfig::kQ.hi));
  if (cfg.c && *cfg.c <= 0) throw ConfigError("c", "temperature must be > 0");
  const char* claim = cfg.window ? "match3-window" : "match3-hinted";
  return SemanticsPolicy(cfg.semantics, forward_only ? kExactEmbedArith : Match3LocalConfig::kSemantics, claim);
}

// A unit from outside (a model file) has the shapes the checker indexes by.
void validate_unit(const Match3LocalUnit& u) {
  check_field_range("key width", u.key_width, 1, Match3LocalUnit::kMaxKeyWidth);
  if (u.keys.size() != static_cast<std::size_t>(u.N) * static_cast<std::size_t>(u.key_width))
    throw ConfigError("keys", "need N x K entries");
  if (u.values.size() != static_cast<std::size_t>(u.M) * static_cast<std::size_t>(u.q))
    throw ConfigError("values", "need M x q entries");
  if (!u.query_of) throw ConfigError("queries", "no query source");
}

}  // namespace

namespace {

// The certified check of a unit of the class: the rows over hint sets, the decoder over every
// multiset, and a witness search where a row is not certified.  `cfg` carries the shape and the
// temperature the result reports.
Match3LocalResult check_unit(const Match3LocalUnit& unit, SemanticsPolicy policy, const Match3LocalConfig& cfg, const Rational& c,
                             unsigned threads, bool force) {
  ElapsedTimer timer;
  LocalModel model(unit, std::move(policy));
  Match3LocalResult r;
  r.window = cfg.window;
  r.N = cfg.N;
  r.M = cfg.M;
  r.q = cfg.q;
  r.c = c;
  r.claim = cfg.window ? "match3-window" : "match3-hinted";
  r.semantics = cfg.semantics.name();
  const LocalRowProblem problem{model, cfg.window, cfg.window ? window_hints(cfg.N, cfg.q) : std::vector<std::vector<int>>{}};
  r.rows = problem.cases();
  require_size_limit(r.claim + " rows", r.rows, 5'000'000ULL, force);
  r.m = 5 * cfg.q + 1;
  r.m_formula = "1 (x_i) + q (value slot) + 2q (moment-curve key) + 2q (query)";
  r.reduction = cfg.window
      ? "keys depend only on j and the query only on y_i: the row of token i depends only on its window (N rows); "
        "the decode error bound holds for every x simultaneously (sup over values in [0, M-1])"
      : "keys depend only on j and the query only on y_i: all S in (N choose q) cover all inputs; "
        "the decode error bound holds for every x simultaneously (sup over values in [0, M-1])";

  // Part 1: every attention row decodes the power sums exactly (error < 1/2 of the unit spacing).
  const auto tally = filtered_sweep(problem, threads);

  // Part 2: ψ's decoder recovers every multiset of q candidate values in [M] from its power sums.
  std::uint64_t decoder_cases = 0, decoder_bad = 0;
  {
    std::vector<int> ms(static_cast<std::size_t>(cfg.q), 0);
    do {
      std::vector<Integer> P(static_cast<std::size_t>(cfg.q), Integer(0));
      for (int v : ms) {
        Integer pw = 1;
        for (int k = 0; k < cfg.q; ++k) { pw *= v; P[static_cast<std::size_t>(k)] += pw; }
      }
      auto dec = decode_power_sums(P, cfg.M);
      ++decoder_cases;
      if (!dec || *dec != ms) ++decoder_bad;
    } while (next_multiset(ms.data(), cfg.q, cfg.M));
  }
  r.decoder_multisets = decoder_cases;
  r.decoder_failures = decoder_bad;
  r.fallback_rows = tally.fallbacks;
  const auto& worst = tally.worst[0];
  r.worst_lower = worst ? worst->outcome.lo : -1;
  r.worst_upper = worst ? worst->outcome.hi : -1;
  r.worst_hints = problem.hints_of(worst ? worst->index : 0);
  r.worst_meaning = "max over rows and k of q*|out_k - P_k/q| (certified upper bound over every x); "
                    "psi decodes exactly when < 1/2";
  r.verdict = Verdict::Holds;
  if (decoder_bad > 0) r.verdict = Verdict::Undecided;  // would be a bug in ψ; never expected
  if (tally.undecided > 0) {
    // The bound is not certified for some row: look for a concrete failing input (extreme values).
    r.verdict = Verdict::Undecided;
    auto S = problem.hints_of(tally.first_undecided->index);
    const int N = cfg.N;
    std::vector<std::vector<int>> y;
    int target = 0;
    if (cfg.window) {
      y = window_hints(N, cfg.q);
      for (int i = 0; i < N; ++i) if (y[static_cast<std::size_t>(i)] == S) target = i;
    } else {
      y.assign(static_cast<std::size_t>(N), S);
      for (int i = 0; i < N; ++i) if (!std::binary_search(S.begin(), S.end(), i)) { target = i; break; }
    }
    auto shifted = model.shifted_scores(S);
    // The extreme values of each power slot k over the value table (the first on ties): the input
    // that pushes slot k's error furthest puts them where the attention weight is above / below its
    // target.  For the construction (enc_k(x) = x^k, increasing) every slot gives 0 and M − 1;
    // a file's table may put them anywhere.  Each distinct (top, bottom) pair is tried once.
    std::vector<std::pair<int, int>> extremes;
    for (int k = 0; k < cfg.q; ++k) {
      int top = 0, bottom = 0;
      for (int v = 1; v < cfg.M; ++v) {
        const Rational& e = model.enc[static_cast<std::size_t>(v)][static_cast<std::size_t>(k)];
        if (e > model.enc[static_cast<std::size_t>(top)][static_cast<std::size_t>(k)]) top = v;
        if (e < model.enc[static_cast<std::size_t>(bottom)][static_cast<std::size_t>(k)]) bottom = v;
      }
      if (std::find(extremes.begin(), extremes.end(), std::make_pair(top, bottom)) == extremes.end())
        extremes.emplace_back(top, bottom);
    }
    WorkingPrecision wp(128);
    Interval den(0L, 128);
    std::vector<Interval> a;
    for (int j = 0; j < N; ++j) { a.push_back(exp(Interval(shifted[static_cast<std::size_t>(j)], 128))); den += a.back(); }
    for (const auto& [top, bottom] : extremes)
      for (int xi = 0; xi < cfg.M && r.verdict != Verdict::Fails; ++xi)
        for (int pattern = 0; pattern < 2 && r.verdict != Verdict::Fails; ++pattern) {
          // Values at the extremes in the direction of the attention error (and the mirror).
          std::vector<int> x(static_cast<std::size_t>(N));
          for (int j = 0; j < N; ++j) {
            bool inS = std::binary_search(S.begin(), S.end(), j);
            bool over = a[static_cast<std::size_t>(j)].mid_double() / den.mid_double() > (inS ? 1.0 / cfg.q : 0.0);
            x[static_cast<std::size_t>(j)] = (over != (pattern == 1)) ? top : bottom;
          }
          x[static_cast<std::size_t>(target)] = xi;
          auto out = forward(model, x, y);
          const auto& t = out[static_cast<std::size_t>(target)];
          if (t.decided && t.model != t.truth) {
            r.verdict = Verdict::Fails;
            r.witness = Match3LocalWitness{x, y, target, t.model, t.truth};
          }
        }
  }
  r.seconds = timer.seconds();
  r.threads = threads;
  return r;
}

}  // namespace

Match3LocalUnit match3_local_construction_unit(const Match3LocalConfig& cfg, const Rational& c) {
  Match3LocalUnit u;
  u.window = cfg.window;
  u.N = cfg.N;
  u.M = cfg.M;
  u.q = cfg.q;
  u.key_width = 2 * cfg.q;
  // Keys: the moment curve (j, j², …, j^{2q}) over the nodes j = 1..N.
  for (int j = 0; j < cfg.N; ++j) {
    Rational p = 1;
    for (int r = 0; r < 2 * cfg.q; ++r) u.keys.push_back(p *= (j + 1));
  }
  // Values: enc(x) = (x, x², …, x^q).
  for (int x = 0; x < cfg.M; ++x) {
    Rational p = 1;
    for (int k = 0; k < cfg.q; ++k) u.values.push_back(p *= x);
  }
  // Query of hint set S: −c·(a_1, …, a_{2q}) with Π_{k∈S}(t − (k+1))² = Σ_r a_r t^r.
  const int q = cfg.q;
  u.query_of = [c, q](const std::vector<int>& S) {
    std::vector<Rational> poly{Rational(1)};
    for (int k : S)
      for (int rep = 0; rep < 2; ++rep) {  // multiply by (t − (k+1))
        std::vector<Rational> next(poly.size() + 1, Rational(0));
        for (std::size_t i = 0; i < poly.size(); ++i) {
          next[i + 1] += poly[i];
          next[i] -= poly[i] * (k + 1);
        }
        poly = std::move(next);
      }
    std::vector<Rational> w;
    for (int r = 1; r <= 2 * q; ++r) w.push_back(-c * poly[static_cast<std::size_t>(r)]);
    return w;
  };
  return u;
}

Match3LocalResult check_match3_local(const Match3LocalConfig& cfg, unsigned threads, bool force) {
  SemanticsPolicy policy = validate(cfg);
  const Rational c = cfg.c ? *cfg.c : match3_local_default_temperature(cfg.N, cfg.M, cfg.q);
  return check_unit(match3_local_construction_unit(cfg, c), std::move(policy), cfg, c, threads, force);
}

Match3LocalResult check_match3_local_unit(const Match3LocalUnit& unit, const Semantics& semantics, unsigned threads, bool force) {
  Match3LocalConfig cfg;
  cfg.window = unit.window;
  cfg.N = unit.N;
  cfg.M = unit.M;
  cfg.q = unit.q;
  cfg.semantics = semantics;
  SemanticsPolicy policy = validate(cfg);
  validate_unit(unit);
  Match3LocalResult r = check_unit(unit, std::move(policy), cfg, Rational(0), threads, force);
  r.m = 1 + unit.q + 2 * unit.key_width;
  r.m_formula = "1 (x_i) + q (value slot) + K (key table) + K (query table)";
  r.reduction = std::string("keys depend only on j and the query only on y_i (the file's tables): ") +
                (unit.window ? "the row of token i depends only on its window (N rows)" : "all S in (N choose q) cover all inputs") +
                "; the decode error bound holds for every x simultaneously (sup over the value table's entries)";
  return r;
}


namespace {

// The hint sets of an input, checked and sorted (window: the windows themselves).
std::vector<std::vector<int>> checked_hints(const Match3LocalConfig& cfg, const std::vector<std::vector<int>>& y_in) {
  std::vector<std::vector<int>> y = cfg.window ? window_hints(cfg.N, cfg.q) : y_in;
  if (y.size() != static_cast<std::size_t>(cfg.N)) throw ConfigError("hints", "need one hint set per token");
  for (const auto& s : y) {
    if (static_cast<int>(s.size()) != cfg.q) throw ConfigError("hints", "every hint set needs exactly q indices");
    for (int j : s) if (j < 0 || j >= cfg.N) throw ConfigError("hints", "indices must be in 1..N");
  }
  for (auto& s : y) {
    std::sort(s.begin(), s.end());
    // math §4.5: y_i is a q-subset; a repeated index is not a valid hint set.
    if (std::adjacent_find(s.begin(), s.end()) != s.end())
      throw ConfigError("hints", "every hint set needs q distinct indices in 1..N (index " +
                                     std::to_string(*std::adjacent_find(s.begin(), s.end()) + 1) + " repeats)");
  }
  return y;
}

Match3LocalEval eval_unit(const Match3LocalUnit& unit, SemanticsPolicy policy, const Match3LocalConfig& cfg, const Rational& c,
                          const std::vector<int>& x_in, const std::vector<std::vector<int>>& y) {
  LocalModel model(unit, std::move(policy));
  std::vector<int> x;
  for (int v : x_in) x.push_back(((v % cfg.M) + cfg.M) % cfg.M);
  Match3LocalEval r;
  r.window = cfg.window;
  r.N = cfg.N;
  r.M = cfg.M;
  r.q = cfg.q;
  r.c = c;
  r.semantics = cfg.semantics.name();
  auto out = forward(model, x, y);
  for (std::size_t i = 0; i < x.size(); ++i) {
    r.tokens.push_back({out[i].x, y[i], out[i].model, out[i].truth, out[i].decoded, out[i].decided});
    r.errors += out[i].model != out[i].truth || !out[i].decided;
  }
  return r;
}

}  // namespace

Match3LocalEval eval_match3_local(const Match3LocalConfig& cfg_in, const std::vector<int>& x_in,
                                  const std::vector<std::vector<int>>& y_in) {
  Match3LocalConfig cfg = cfg_in;
  cfg.N = static_cast<int>(x_in.size());
  SemanticsPolicy policy = validate(cfg, true);
  const auto y = checked_hints(cfg, y_in);
  const Rational c = cfg.c ? *cfg.c : match3_local_default_temperature(cfg.N, cfg.M, cfg.q);
  return eval_unit(match3_local_construction_unit(cfg, c), std::move(policy), cfg, c, x_in, y);
}

Match3LocalEval eval_match3_local_unit(const Match3LocalUnit& unit, const Semantics& semantics, const std::vector<int>& x,
                                       const std::vector<std::vector<int>>& y_in) {
  if (x.size() != static_cast<std::size_t>(unit.N))
    throw ConfigError("input", "needs N = " + std::to_string(unit.N) + " tokens (the model's N), got " + std::to_string(x.size()));
  Match3LocalConfig cfg;
  cfg.window = unit.window;
  cfg.N = unit.N;
  cfg.M = unit.M;
  cfg.q = unit.q;
  cfg.semantics = semantics;
  SemanticsPolicy policy = validate(cfg, true);
  validate_unit(unit);
  const auto y = checked_hints(cfg, y_in);
  return eval_unit(unit, std::move(policy), cfg, Rational(0), x, y);
}

}  // namespace attnbounds
