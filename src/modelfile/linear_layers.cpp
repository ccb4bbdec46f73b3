#include "modelfile/linear_layers.hpp"

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

std::vector<LinearMap> LayerReader::mlp(const std::string& prefix, int in, int max_in, int last_out, const std::string& what) {
  std::vector<LinearMap> layers;
  int width = in;
  for (int l = 0; f.tensors.count(prefix + "." + std::to_string(l) + ".weight"); ++l) {
    if (l == kMaxMlpLayers)
      throw ModelFileError(file, "tensor '" + prefix + "." + std::to_string(l) + ".weight'",
                           "at most " + std::to_string(kMaxMlpLayers) + " layers in " + what);
    layers.push_back(linear(prefix + "." + std::to_string(l), width, max_in, kMaxMlpWidth,
                            l == 0 ? what + "'s first layer" : what + "'s layer " + std::to_string(l)));
    width = layers.back().out;
  }
  if (layers.empty()) throw ModelFileError(file, "tensor '" + prefix + ".0.weight'", "missing (" + what + ")");
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
