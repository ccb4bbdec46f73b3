#include "modelfile/linear_layers.hpp"

#include <algorithm>

#include "modelfile/model_fields.hpp"

namespace attnbounds {

using namespace model_fields;

const char* activation_name(Activation a) { return a == Activation::Relu ? "relu" : "gelu"; }

LinearMap LayerReader::linear(const std::string& name, int in, int max_in, int max_out, const std::string& what) {
  const std::string w = name + ".weight", b = name + ".bias";
  LinearMap l;
  l.out = static_cast<int>(width_of(file, f, w, 0, "out (" + what + ")", max_out));
  l.in = static_cast<int>(width_of(file, f, w, 1, "in", in > 0 ? in : max_in));
  if (in > 0 && l.in != in)
    throw ModelFileError(file, "tensor '" + w + "'.shape",
                         "must have in = " + std::to_string(in) + " (" + what + "), got " + shape_text(f.tensors.at(w).shape));
  parameters += static_cast<std::uint64_t>(l.in) * l.out + l.out;
  if (parameters > kMaxModelParameters)
    throw ModelFileError(file, "tensor '" + w + "'", "the model has more than 2^20 parameters (the class's limit)");
  l.weight = table(file, f, w, {static_cast<std::uint64_t>(l.out), static_cast<std::uint64_t>(l.in)}, what);
  if (f.tensors.count(b)) l.bias = table(file, f, b, {static_cast<std::uint64_t>(l.out)}, "the bias of " + name);
  known.insert(w);
  known.insert(b);
  return l;
}

namespace {
// L for the layers PREFIX.0 .. PREFIX.{L−1}: one past the highest index any PREFIX.<i>.weight or
// PREFIX.<i>.bias names (decimal, no leading zero); 0 when none does.
int named_layers(const SafetensorsFile& f, const std::string& prefix) {
  int top = -1;
  for (const auto& [name, t] : f.tensors) {
    if (name.size() <= prefix.size() + 1 || name.compare(0, prefix.size() + 1, prefix + ".") != 0) continue;
    const std::string rest = name.substr(prefix.size() + 1);
    const std::size_t dot = rest.find('.');
    if (dot == std::string::npos || dot == 0 || dot > 6) continue;
    const std::string index = rest.substr(0, dot), field = rest.substr(dot + 1);
    if (field != "weight" && field != "bias") continue;
    if (index.size() > 1 && index[0] == '0') continue;
    if (index.find_first_not_of("0123456789") != std::string::npos) continue;
    top = std::max(top, std::stoi(index));
  }
  return top + 1;
}
}  // namespace

std::vector<LinearMap> LayerReader::mlp(const std::string& prefix, int in, int max_in, int last_out, const std::string& what) {
  // The same rule as the Python reader: too many layers names the highest, a gap the first missing.
  const int L = named_layers(f, prefix);
  if (L == 0) throw ModelFileError(file, "tensor '" + prefix + ".0.weight'", "missing (" + what + ")");
  if (L > kMaxMlpLayers)
    throw ModelFileError(file, "tensor '" + prefix + "." + std::to_string(L - 1) + ".weight'",
                         "at most " + std::to_string(kMaxMlpLayers) + " layers in " + what);
  for (int l = 0; l < L; ++l)
    if (!f.tensors.count(prefix + "." + std::to_string(l) + ".weight"))
      throw ModelFileError(file, "tensor '" + prefix + "." + std::to_string(l) + ".weight'",
                           "missing (" + what + "'s layers " + prefix + ".0 .. " + prefix + "." + std::to_string(L - 1) +
                               " are named)");
  std::vector<LinearMap> layers;
  int width = in;
  for (int l = 0; l < L; ++l) {
    layers.push_back(linear(prefix + "." + std::to_string(l), width, max_in, kMaxMlpWidth,
                            l == 0 ? what + "'s first layer" : what + "'s layer " + std::to_string(l)));
    width = layers.back().out;
  }
  if (last_out > 0 && layers.back().out != last_out)
    throw ModelFileError(file, "tensor '" + prefix + "." + std::to_string(layers.size() - 1) + ".weight'.shape",
                         "the last layer of " + what + " must have out = " + std::to_string(last_out));
  return layers;
}

void LayerReader::refuse_unknown(const std::string& cls, const std::string& allowed) const {
  for (const auto& [name, t] : f.tensors) {
    const bool companion =
        name.size() > 6 && name.compare(name.size() - 6, 6, ".exact") == 0 && known.count(name.substr(0, name.size() - 6));
    if (!known.count(name) && !companion)
      throw ModelFileError(file, "tensor '" + name + "'", "not part of this " + cls + " file (" + allowed + ", and NAME.exact)");
  }
}

std::string LayerReader::dtypes() const { return model_fields::dtype_labels(f, {known.begin(), known.end()}); }

std::string layer_widths(const std::vector<LinearMap>& layers) {
  std::string s = std::to_string(layers.front().in);
  for (const auto& l : layers) s += "→" + std::to_string(l.out);
  return s;
}

void put_linear(SafetensorsFile& f, const std::string& name, const LinearMap& l, bool exact, DType dtype,
                const std::string& file) {
  model_fields::put_table(f, file, name + ".weight", l.weight,
                          {static_cast<std::uint64_t>(l.out), static_cast<std::uint64_t>(l.in)}, exact, dtype);
  model_fields::put_table(f, file, name + ".bias", l.bias, {static_cast<std::uint64_t>(l.out)}, exact, dtype);
}

}  // namespace attnbounds
