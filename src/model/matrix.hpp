// A small dense row-major matrix over any number type (double, DInterval, Interval,
// MpfrReal, FormatReal, Rational).  Enough for the models; no expression templates.
#pragma once
#include <cstddef>
#include <stdexcept>
#include <vector>

namespace attnbounds {

template <class T>
class Mat {
 public:
  Mat() = default;
  Mat(std::size_t rows, std::size_t cols, const T& fill = T(0)) : r_(rows), c_(cols), d_(rows * cols, fill) {}
  std::size_t rows() const { return r_; }
  std::size_t cols() const { return c_; }
  T& operator()(std::size_t i, std::size_t j) { return d_[i * c_ + j]; }
  const T& operator()(std::size_t i, std::size_t j) const { return d_[i * c_ + j]; }
  T* row(std::size_t i) { return d_.data() + i * c_; }
  const T* row(std::size_t i) const { return d_.data() + i * c_; }
  const std::vector<T>& data() const { return d_; }

  template <class U, class Convert>
  static Mat from(const Mat<U>& m, Convert&& conv) {
    Mat out(m.rows(), m.cols());
    for (std::size_t i = 0; i < m.rows(); ++i)
      for (std::size_t j = 0; j < m.cols(); ++j) out(i, j) = conv(m(i, j));
    return out;
  }

 private:
  std::size_t r_ = 0, c_ = 0;
  std::vector<T> d_;
};

// C = A * B.
template <class T>
Mat<T> matmul(const Mat<T>& A, const Mat<T>& B) {
  if (A.cols() != B.rows()) throw std::invalid_argument("matmul: shape mismatch");
  Mat<T> C(A.rows(), B.cols());
  for (std::size_t i = 0; i < A.rows(); ++i)
    for (std::size_t j = 0; j < B.cols(); ++j) {
      T acc(0);
      for (std::size_t k = 0; k < A.cols(); ++k) acc += A(i, k) * B(k, j);
      C(i, j) = acc;
    }
  return C;
}

}  // namespace attnbounds
