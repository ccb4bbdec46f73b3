// Attention models (math §1), written once as templates over the number type.
// The same code runs on double, DInterval (certified double filter), Interval (MPFI),
// MpfrReal, FormatReal (arith semantics) and, for hardmax and scores, Rational.
#pragma once
#include <algorithm>
#include <cmath>
#include <concepts>
#include <stdexcept>
#include <cstddef>
#include <vector>

#include "model/matrix.hpp"
#include "numeric/dinterval.hpp"
#include "numeric/format_real.hpp"
#include "numeric/interval.hpp"
#include "numeric/mpfr_real.hpp"

namespace attnbounds {

// The softmax shift: a point value at or above the maximum score.  For enclosures this is an
// exact endpoint, so subtracting it adds no dependency blow-up; softmax is invariant to any
// common shift, so the choice never changes the exact result.
inline double shift_point(double x) { return x; }
inline DInterval shift_point(const DInterval& x) { return x.upper_point(); }
inline Interval shift_point(const Interval& x) { return x.upper_point(); }
inline MpfrReal shift_point(const MpfrReal& x) { return x; }
inline FormatReal shift_point(const FormatReal& x) { return x; }
inline bool score_less(double a, double b) { return a < b; }
inline bool score_less(const MpfrReal& a, const MpfrReal& b) { return a < b; }
template <class T>
bool score_less(const T& a, const T& b) { return upper_less(a, b); }

// Stable softmax of n scores into out (out may alias nothing).  Evaluation order (fixed, so
// arith semantics is reproducible): shift = max score; e_j = exp(s_j - shift) in index order;
// sum left to right; a_j = e_j / sum.
// The exponential of softmax, a functor so that a caller may pass a memoised one (its values must
// be exactly those of exp: see numeric/exp_cache.hpp).
struct PlainExp {
  template <class T>
  T operator()(const T& x) const {
    using std::exp;
    return exp(x);
  }
};

template <class T, class Exp = PlainExp>
void softmax(const T* s, std::size_t n, T* out, const Exp& exp = Exp{}) {
  std::size_t arg = 0;
  for (std::size_t j = 1; j < n; ++j)
    if (score_less(s[arg], s[j])) arg = j;
  const T shift = shift_point(s[arg]);
  T sum(0);
  for (std::size_t j = 0; j < n; ++j) {
    out[j] = exp(s[j] - shift);
    sum += out[j];
  }
  for (std::size_t j = 0; j < n; ++j) out[j] = out[j] / sum;
}

// Hardmax: weight 1/|argmax| on the maximal scores.  Requires exact comparisons
// (double, Rational, MpfrReal, FormatReal).
template <class T>
void hardmax(const T* s, std::size_t n, T* out) {
  if constexpr (!requires(const T& a) { { a < a } -> std::convertible_to<bool>; { a == a } -> std::convertible_to<bool>; }) {
    throw std::invalid_argument("hardmax needs exact comparisons: use double, Rational, MpfrReal or FormatReal");
  } else {
  std::size_t arg = 0;
  for (std::size_t j = 1; j < n; ++j)
    if (s[arg] < s[j]) arg = j;
  long ties = 0;
  for (std::size_t j = 0; j < n; ++j) ties += (s[j] == s[arg]) ? 1 : 0;
  const T w = T(1) / T(static_cast<int>(ties));
  for (std::size_t j = 0; j < n; ++j) out[j] = (s[j] == s[arg]) ? w : T(0);
  }
}

// One head in query/key/value form: rows are tokens.  queries N×m, keys N×m, values N×d'.
template <class T>
struct QKV {
  Mat<T> queries, keys, values;
};

// Projects token embeddings Φ (N×m) through Q, K (m×m) and V (m×d') as in math §1.1:
// q_i = Qᵀφ_i, i.e. the row vector φ_i Q.
template <class T>
QKV<T> project(const Mat<T>& phi, const Mat<T>& Q, const Mat<T>& K, const Mat<T>& V) {
  return {matmul(phi, Q), matmul(phi, K), matmul(phi, V)};
}

enum class Normaliser { Softmax, Hardmax };

namespace detail {
using std::exp;
// True for number types with an exp (found by ADL or std): Rational has none, so a Rational
// unit may use hardmax but not softmax.
template <class T>
concept HasExp = requires(const T& a) { exp(a); };
}  // namespace detail

// Attention row of token i: writes A_i· (length N) into weights, using scores as scratch.
template <class T, class Exp = PlainExp>
void attention_weights(const QKV<T>& h, std::size_t i, Normaliser norm, T* scores, T* weights, const Exp& exp = Exp{}) {
  const std::size_t N = h.keys.rows(), m = h.keys.cols();
  for (std::size_t j = 0; j < N; ++j) {
    T acc(0);
    for (std::size_t c = 0; c < m; ++c) acc += h.queries(i, c) * h.keys(j, c);
    scores[j] = acc;
  }
  if (norm == Normaliser::Hardmax) {
    hardmax(scores, N, weights);
  } else if constexpr (detail::HasExp<T>) {
    softmax(scores, N, weights, exp);
  } else {
    throw std::invalid_argument("softmax needs exp: use hardmax for exact rationals, or an interval type");
  }
}

// Unit output f(X) (N×d'): f(X)_i = Σ_j A_ij v_j.
template <class T>
Mat<T> attention_unit(const QKV<T>& h, Normaliser norm = Normaliser::Softmax) {
  const std::size_t N = h.keys.rows(), dv = h.values.cols();
  Mat<T> out(N, dv);
  std::vector<T> scores(N), weights(N);
  for (std::size_t i = 0; i < N; ++i) {
    attention_weights(h, i, norm, scores.data(), weights.data());
    for (std::size_t j = 0; j < N; ++j)
      for (std::size_t c = 0; c < dv; ++c) out(i, c) += weights[j] * h.values(j, c);
  }
  return out;
}

// Multi-head layer: heads summed (no concat, no output matrix).  With a residual, phi (N×m)
// is added and the heads' value width must equal m.
template <class T>
Mat<T> multi_head(const std::vector<QKV<T>>& heads, const Mat<T>* residual_phi = nullptr,
                  Normaliser norm = Normaliser::Softmax) {
  if (heads.empty()) throw std::invalid_argument("multi_head: at least one head");
  Mat<T> sum = attention_unit(heads[0], norm);
  for (std::size_t h = 1; h < heads.size(); ++h) {
    Mat<T> o = attention_unit(heads[h], norm);
    for (std::size_t i = 0; i < sum.rows(); ++i)
      for (std::size_t c = 0; c < sum.cols(); ++c) sum(i, c) += o(i, c);
  }
  if (residual_phi) {
    if (residual_phi->cols() != sum.cols()) throw std::invalid_argument("residual: value width must equal m");
    for (std::size_t i = 0; i < sum.rows(); ++i)
      for (std::size_t c = 0; c < sum.cols(); ++c) sum(i, c) += (*residual_phi)(i, c);
  }
  return sum;
}

// Third-order attention (math §1.5): softmax over all N² pairs (j,k), values v¹_j ⊙ v²_k.
template <class T>
struct ThirdOrderHead {
  Mat<T> queries, keys1, keys2, values1, values2;  // N×m, N×m, N×m, N×d', N×d'
};

// Attention over pairs for token i: weights has N*N entries, index j*N + k.
template <class T>
void third_order_weights(const ThirdOrderHead<T>& h, std::size_t i, T* scores, T* weights) {
  const std::size_t N = h.keys1.rows(), m = h.keys1.cols();
  for (std::size_t j = 0; j < N; ++j)
    for (std::size_t k = 0; k < N; ++k) {
      T acc(0);
      for (std::size_t c = 0; c < m; ++c) acc += h.queries(i, c) * h.keys1(j, c) * h.keys2(k, c);
      scores[j * N + k] = acc;
    }
  softmax(scores, N * N, weights);
}

template <class T>
Mat<T> third_order_unit(const ThirdOrderHead<T>& h) {
  const std::size_t N = h.keys1.rows(), dv = h.values1.cols();
  Mat<T> out(N, dv);
  std::vector<T> scores(N * N), weights(N * N);
  for (std::size_t i = 0; i < N; ++i) {
    third_order_weights(h, i, scores.data(), weights.data());
    for (std::size_t j = 0; j < N; ++j)
      for (std::size_t k = 0; k < N; ++k)
        for (std::size_t c = 0; c < dv; ++c)
          out(i, c) += weights[j * N + k] * h.values1(j, c) * h.values2(k, c);
  }
  return out;
}


}  // namespace attnbounds
