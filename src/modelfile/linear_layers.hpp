// nn.Linear layers and small MLPs in model files, shared by the classes that store them
// (attention-unit, qsa-unit): the PyTorch layout (weight [out, in], optional bias [out]), the
// reader of NAME.weight / NAME.bias and of PREFIX.0, PREFIX.1, ..., the writer, and the certified
// evaluation of a layer stack on any number type (double intervals or MPFI).
#pragma once
#include <cstdint>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "modelfile/exact_real.hpp"
#include "modelfile/safetensors.hpp"
#include "numeric/activation.hpp"

namespace attnbounds {

// One nn.Linear: y = W·x + b, W row-major [out, in], b empty or [out].
struct LinearMap {
  int in = 0, out = 0;
  std::vector<ExactReal> weight, bias;
};

enum class Activation { Relu, Gelu };
const char* activation_name(Activation a);

// Limits every MLP of a model file shares (docs/model-format.md).
inline constexpr int kMaxMlpLayers = 4, kMaxMlpWidth = 256;
inline constexpr std::uint64_t kMaxModelParameters = 1u << 20;

// Reads the layers of one file, remembering which tensors it took (so that the class can refuse
// every other tensor) and counting parameters against kMaxModelParameters.
struct LayerReader {
  const std::string& file;
  const SafetensorsFile& f;
  std::set<std::string> known;  // tensors the class defines for this file
  std::uint64_t parameters = 0;

  // nn.Linear NAME: weight [out, in] with `in` fixed (0: any in 1..max_in), optional bias [out].
  LinearMap linear(const std::string& name, int in, int max_in, int max_out, const std::string& what);
  // Layers PREFIX.0 .. PREFIX.{L−1}, L one past the highest index a PREFIX.<i>.weight or .bias
  // names (1..kMaxMlpLayers; a gap names the first missing layer); every width in
  // 1..kMaxMlpWidth, the last one last_out when > 0.
  std::vector<LinearMap> mlp(const std::string& prefix, int in, int max_in, int last_out, const std::string& what);
  // Refuses any tensor that is neither known nor a known tensor's NAME.exact; `allowed` lists
  // the class's tensors in words.
  void refuse_unknown(const std::string& cls, const std::string& allowed) const;
  // "F64+exact,F32": the dtypes of the known tensors.
  std::string dtypes() const;
};

// "6→4→2": the input width, then every layer's output width.
std::string layer_widths(const std::vector<LinearMap>& layers);
// NAME.weight and NAME.bias (when present).
void put_linear(SafetensorsFile& f, const std::string& name, const LinearMap& l, bool exact, DType dtype,
                const std::string& file);

// ---- evaluation on a number type T (DInterval or Interval) ------------------------------------

template <class T>
struct LinearT {
  int in = 0, out = 0;
  std::vector<T> w, b;
};

template <class T, class MakeEntry>
LinearT<T> convert_linear(const LinearMap& l, MakeEntry&& make_entry) {
  LinearT<T> r;
  r.in = l.in;
  r.out = l.out;
  for (const auto& e : l.weight) r.w.push_back(make_entry(e));
  for (const auto& e : l.bias) r.b.push_back(make_entry(e));
  return r;
}

// The same from a layer of another entry type (stored entries, or enclosures at other bits).
template <class T, class U, class MakeEntry>
LinearT<T> convert_linear(const LinearT<U>& l, MakeEntry&& make_entry) {
  LinearT<T> r;
  r.in = l.in;
  r.out = l.out;
  for (const auto& e : l.w) r.w.push_back(make_entry(e));
  for (const auto& e : l.b) r.b.push_back(make_entry(e));
  return r;
}

// x², nonnegative for enclosures too (x·x of an interval around 0 has a negative end).
template <class T>
T square(const T& x) {
  if constexpr (std::is_same_v<T, Interval>) {
    return sqr(x);
  } else {
    const T a = abs(x);
    return a * a;
  }
}

template <class T>
T activate(Activation a, const T& x) {
  return a == Activation::Relu ? relu(x) : gelu(x);
}

// y = W·x + b.
template <class T>
void apply(const LinearT<T>& l, const T* x, T* y) {
  for (int o = 0; o < l.out; ++o) {
    T acc = l.b.empty() ? T(0) : l.b[o];
    const T* w = l.w.data() + static_cast<std::size_t>(o) * l.in;
    for (int c = 0; c < l.in; ++c) acc += w[c] * x[c];
    y[o] = acc;
  }
}

// Two scratch rows of the widest layer; the MLP's input is in `in`, the output in the returned row.
template <class T>
const T* apply_mlp(const std::vector<LinearT<T>>& layers, Activation act, const T* in, std::vector<T>& a, std::vector<T>& b) {
  const T* x = in;
  for (std::size_t l = 0; l < layers.size(); ++l) {
    std::vector<T>& y = (l % 2 == 0) ? a : b;
    apply(layers[l], x, y.data());
    if (l + 1 < layers.size())
      for (int o = 0; o < layers[l].out; ++o) y[o] = activate(act, y[o]);
    x = y.data();
  }
  return x;
}

}  // namespace attnbounds
