// Instantiates every model template on every number type, with a hand-computed value.
#include <catch2/catch.hpp>

#include "model/attention.hpp"

using namespace attnbounds;

namespace {
template <class T>
Mat<T> two_token_output() {
  // Scores: token 0 sees keys (0, ln 3) -> weights (1/4, 3/4); values (0, 1) -> output 3/4.
  QKV<T> h{Mat<T>(2, 1, T(1)), Mat<T>(2, 1, T(0)), Mat<T>(2, 1, T(0))};
  h.keys(1, 0) = log(T(3));
  h.values(1, 0) = T(1);
  return attention_unit(h);
}
}  // namespace

TEST_CASE("softmax unit on two tokens gives 3/4 for every number type", "[model]") {
  WorkingPrecision wp(200);
  CHECK(two_token_output<double>()(0, 0) == Approx(0.75).epsilon(1e-15));
  auto di = two_token_output<DInterval>()(0, 0);
  CHECK(di.lower() <= 0.75);
  CHECK(di.upper() >= 0.75);
  CHECK(di.width() < 1e-14);
  auto iv = two_token_output<Interval>()(0, 0);
  CHECK(iv.contains(Rational(3, 4)));
  CHECK(iv.width_double() < 1e-55);
  CHECK(two_token_output<MpfrReal>()(0, 0).to_double() == Approx(0.75).epsilon(1e-15));
  ArithFormatScope scope(Format::float_bits(24));
  auto fr = two_token_output<FormatReal>()(0, 0);
  CHECK(fr.to_double() == Approx(0.75).epsilon(1e-6));
}
