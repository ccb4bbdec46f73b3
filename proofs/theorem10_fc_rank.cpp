#include "proofs/theorem10_fc_rank.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "core/config_error.hpp"
#include "core/field_checks.hpp"
#include "numeric/interval.hpp"
#include "tasks/tasks.hpp"
#include "core/input_file.hpp"

namespace attnbounds::fc_rank {

namespace {

// The network input vector: token-major (z_i, y_i (1-based), i (1-based)).
std::vector<Rational> flatten(const FcInput& X, int q) {
  const int N = static_cast<int>(X.y.size()), d = static_cast<int>(X.z.cols());
  std::vector<Rational> v;
  v.reserve(static_cast<std::size_t>(N) * token_dim(d, q));
  for (int i = 0; i < N; ++i) {
    for (int c = 0; c < d; ++c) v.push_back(X.z(i, c));
    for (int j : X.y[i]) v.push_back(j + 1);
    v.push_back(i + 1);
  }
  return v;
}

std::vector<Rational> first_layer_of(const Mat<Rational>& W, const std::vector<Rational>& x) {
  std::vector<Rational> out(W.rows(), Rational(0));
  for (std::size_t r = 0; r < W.rows(); ++r)
    for (std::size_t c = 0; c < W.cols(); ++c)
      if (x[c] != 0) out[r] += W(r, c) * x[c];
  return out;
}

int rank_of(const Mat<Rational>& A) { return exact_kernel(A).rank; }

// A rational s ≥ sqrt(x) (x ≥ 0), exact when x is the square of a rational, else within 2^-60.
Rational sqrt_upper(const Rational& x) {
  mpz_class num = x.get_num(), den = x.get_den(), rn, rd;
  mpz_sqrt(rn.get_mpz_t(), num.get_mpz_t());
  mpz_sqrt(rd.get_mpz_t(), den.get_mpz_t());
  if (rn * rn == num && rd * rd == den) {
    Rational r(rn, rd);
    r.canonicalize();
    return r;
  }
  const mpz_class scale = mpz_class(1) << 60;
  mpz_class scaled = num * scale * scale / den + 1, root;
  mpz_sqrt(root.get_mpz_t(), scaled.get_mpz_t());
  Rational r(root + 1, scale);
  r.canonicalize();
  if (r * r < x) throw std::logic_error("sqrt_upper: not an upper bound");
  return r;
}

}  // namespace

Mat<Rational> read_weights_file(const std::string& path) {
  std::istringstream f;
  try {
    f.str(read_bounded_file(path, kMaxTextInputBytes));
  } catch (const std::invalid_argument& e) {
    throw ConfigError("weights", e.what());
  }
  std::vector<std::vector<Rational>> rows;
  std::string line;
  int lineno = 0;
  while (std::getline(f, line)) {
    ++lineno;
    if (auto hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    for (auto& ch : line)
      if (ch == ',' || ch == '\t' || ch == '\r') ch = ' ';
    std::istringstream in(line);
    std::vector<Rational> row;
    std::string tok;
    while (in >> tok) {
      try {
        row.push_back(parse_rational(tok));
      } catch (const std::invalid_argument&) {
        throw ConfigError("weights", fmt::format("line {}: '{}' is not a number (use 3, -2/7, 0.5, 1e-3)", lineno, tok));
      }
    }
    if (row.empty()) continue;
    if (!rows.empty() && row.size() != rows[0].size())
      throw ConfigError("weights", fmt::format("line {}: ragged rows ({} entries, the first row has {})", lineno,
                                              row.size(), rows[0].size()));
    rows.push_back(std::move(row));
    if (rows.size() > 4096) throw ConfigError("weights", "more than 4096 rows (the limit)");
  }
  if (rows.empty()) throw ConfigError("weights", "no rows");
  Mat<Rational> W(rows.size(), rows[0].size());
  for (std::size_t r = 0; r < rows.size(); ++r)
    for (std::size_t c = 0; c < rows[r].size(); ++c) W(r, c) = rows[r][c];
  return W;
}

KernelResult exact_kernel(const Mat<Rational>& A0) {
  Mat<Rational> A = A0;
  const std::size_t R = A.rows(), C = A.cols();
  std::vector<int> pivot_col_of_row;
  std::vector<bool> is_pivot(C, false);
  std::size_t row = 0;
  for (std::size_t c = 0; c < C && row < R; ++c) {
    std::size_t piv = row;
    while (piv < R && A(piv, c) == 0) ++piv;
    if (piv == R) continue;
    for (std::size_t k = 0; k < C; ++k) std::swap(A(piv, k), A(row, k));
    const Rational inv = 1 / A(row, c);
    for (std::size_t k = 0; k < C; ++k) A(row, k) *= inv;
    for (std::size_t r = 0; r < R; ++r) {
      if (r == row || A(r, c) == 0) continue;
      const Rational f = A(r, c);
      for (std::size_t k = 0; k < C; ++k) A(r, k) -= f * A(row, k);
    }
    pivot_col_of_row.push_back(static_cast<int>(c));
    is_pivot[c] = true;
    ++row;
  }
  KernelResult res;
  res.rank = static_cast<int>(row);
  auto free_it = std::find(is_pivot.begin(), is_pivot.end(), false);
  if (free_it == is_pivot.end()) return res;
  const std::size_t f = static_cast<std::size_t>(free_it - is_pivot.begin());
  std::vector<Rational> v(C, Rational(0));
  v[f] = 1;
  for (std::size_t r = 0; r < pivot_col_of_row.size(); ++r) v[pivot_col_of_row[r]] = -A(r, f);
  res.kernel_vector = std::move(v);
  return res;
}

int FcRankOptions::effective_k() const {
  if (weights) return static_cast<int>(weights->rows());
  return k < 0 ? std::max((N - q + 1) * d - 1, 1) : k;
}

void FcRankOptions::validate() const {
  check_field_range("N", N, kN);
  check_field_range("q", q, 1, N);
  check_field_range("d", d, kD);
  const int tdim = token_dim(d, q), in_dim = N * tdim;
  if (weights) {
    if (static_cast<int>(weights->cols()) != in_dim)
      throw ConfigError("weights", fmt::format("each row needs N*d = {} entries (N = {}, token dim d = d'+q+1 = {}); "
                                               "the file has {}",
                                               in_dim, N, tdim, weights->cols()));
  } else {
    check_field_range("k", effective_k(), kK);
  }
}

FcRankResult run_fc_rank(const FcRankOptions& o) {
  o.validate();
  const int N = o.N, q = o.q, d = o.d;
  const int tdim = token_dim(d, q), in_dim = N * tdim, free_tokens = N - q + 1, bound = free_tokens * d;

  Mat<Rational> W;
  if (o.weights) {
    W = *o.weights;
  } else {
    const int k = o.effective_k();
    std::mt19937_64 rng(o.seed);
    W = Mat<Rational>(k, in_dim);
    for (int r = 0; r < k; ++r)
      for (int c = 0; c < in_dim; ++c) W(r, c) = static_cast<long>(rng() % 11) - 5;
  }
  const int k = static_cast<int>(W.rows());

  // X_0: dummies D = the last q−1 tokens (z = 0); free token i has y_i = {i} ∪ D.
  std::vector<int> dummies;
  for (int j = free_tokens; j < N; ++j) dummies.push_back(j);
  FcInput X0{Mat<Rational>(N, d), std::vector<std::vector<int>>(N)};
  for (int i = 0; i < N; ++i) {
    std::vector<int> y = dummies;
    y.push_back(i < free_tokens ? i : 0);
    std::sort(y.begin(), y.end());
    X0.y[i] = y;
  }
  // W restricted to the z-coordinates of the free tokens.
  Mat<Rational> WZ(k, bound);
  for (int r = 0; r < k; ++r)
    for (int i = 0; i < free_tokens; ++i)
      for (int c = 0; c < d; ++c) WZ(r, i * d + c) = W(r, i * tdim + c);
  const KernelResult ker = exact_kernel(WZ);

  // Rank of the qSA linear map z -> qSA(X) for these y's: rank(A)·d', A_ij = [j ∈ y_i].
  Mat<Rational> A(N, N);
  for (int i = 0; i < N; ++i)
    for (int j : X0.y[i]) A(i, j) = Rational(1, q);
  const int qsa_rank = rank_of(A) * d;

  FcRankResult res;
  res.N = N;
  res.q = q;
  res.d = d;
  res.k = k;
  res.input_dim = in_dim;
  res.token_dim = tdim;
  res.bound = bound;
  res.rank_W_free_z = ker.rank;
  res.qsa_map_rank = qsa_rank;
  res.qsa_map_rank_free_z = bound;
  if (!ker.kernel_vector) {
    res.verdict = Verdict::Holds;
  } else {
    const auto& delta = *ker.kernel_vector;
    // Scale so every z_i = ±Δ_i/s stays in the unit ball: s ≥ max_i ‖Δ_i‖₂.
    Rational max_norm2 = 0;
    int best_row = 0;
    for (int i = 0; i < free_tokens; ++i) {
      Rational n2 = 0;
      for (int c = 0; c < d; ++c) n2 += delta[i * d + c] * delta[i * d + c];
      if (n2 > max_norm2) {
        max_norm2 = n2;
        best_row = i;
      }
    }
    const Rational s = sqrt_upper(max_norm2);
    FcInput Xp = X0, Xm = X0;
    for (int i = 0; i < free_tokens; ++i)
      for (int c = 0; c < d; ++c) {
        Xp.z(i, c) = delta[i * d + c] / s;
        Xm.z(i, c) = -delta[i * d + c] / s;
      }
    validate_qsa_input(Xp.z, Xp.y, q);
    validate_qsa_input(Xm.z, Xm.y, q);
    const std::vector<Rational> layer_plus = first_layer_of(W, flatten(Xp, q));
    const bool same_layer = layer_plus == first_layer_of(W, flatten(Xm, q));
    if (!same_layer) throw std::logic_error("fc-rank: W X_+ != W X_- for a kernel vector");
    const Mat<Rational> Tp = qsa(Xp.z, Xp.y), Tm = qsa(Xm.z, Xm.y);
    // Forced error: the network output is the same on X_+ and X_-, so one error is at least
    // half the distance between the two true outputs in the row where they differ most.
    Rational gap2 = 0;
    for (int c = 0; c < d; ++c) gap2 += (Tp(best_row, c) - Tm(best_row, c)) * (Tp(best_row, c) - Tm(best_row, c));
    const Interval forced = sqrt(Interval(gap2 / 4, 256));
    res.verdict = Verdict::Fails;
    FcRankWitness w;
    w.X_plus = Xp;
    w.X_minus = Xm;
    w.delta = delta;
    w.scale = s;
    w.row = best_row;
    for (int c = 0; c < d; ++c) {
      w.true_plus.push_back(Tp(best_row, c));
      w.true_minus.push_back(Tm(best_row, c));
    }
    w.first_layer_output = layer_plus;
    w.first_layer_equal = same_layer;
    w.forced_error_lower = forced.lower();
    w.forced_error_upper = forced.upper();
    res.witness = std::move(w);
  }
  res.W = std::move(W);
  return res;
}

}  // namespace attnbounds::fc_rank
