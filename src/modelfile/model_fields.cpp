#include "modelfile/model_fields.hpp"

#include <set>

namespace attnbounds::model_fields {

const std::string& meta(const std::string& file, const SafetensorsFile& f, const std::string& key) {
  auto it = f.metadata.find(key);
  if (it == f.metadata.end()) throw ModelFileError(file, "__metadata__." + key, "missing");
  return it->second;
}

long long meta_int(const std::string& file, const SafetensorsFile& f, const std::string& key, long long lo, long long hi) {
  const std::string& s = meta(file, f, key);
  bool digits = !s.empty() && s.size() <= 12;
  for (char c : s) digits = digits && c >= '0' && c <= '9';
  if (!digits || (s.size() > 1 && s[0] == '0'))
    throw ModelFileError(file, "__metadata__." + key, "must be a decimal integer in " + std::to_string(lo) + ".." + std::to_string(hi));
  const long long v = std::stoll(s);
  if (v < lo || v > hi)
    throw ModelFileError(file, "__metadata__." + key,
                         "must be in " + std::to_string(lo) + ".." + std::to_string(hi) + " (got " + s + ")");
  return v;
}

std::string shape_text(const std::vector<std::uint64_t>& s) {
  std::string t = "[";
  for (std::size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + "]";
}

void require_table(const std::string& file, const SafetensorsFile& f, const std::string& name,
                   const std::vector<std::uint64_t>& shape, const std::string& why) {
  auto it = f.tensors.find(name);
  if (it == f.tensors.end()) throw ModelFileError(file, "tensor '" + name + "'", "missing (" + why + ")");
  if (it->second.dtype == DType::U8) throw ModelFileError(file, "tensor '" + name + "'", "must be F64, F32, BF16 or F16 (got U8)");
  if (it->second.shape != shape)
    throw ModelFileError(file, "tensor '" + name + "'.shape",
                         "must be " + shape_text(shape) + " (" + why + "), got " + shape_text(it->second.shape));
}

std::vector<ExactReal> table(const std::string& file, const SafetensorsFile& f, const std::string& name,
                             const std::vector<std::uint64_t>& shape, const std::string& why) {
  require_table(file, f, name, shape, why);
  return tensor_exact_reals(file, f, name);
}

std::uint64_t width_of(const std::string& file, const SafetensorsFile& f, const std::string& name, std::size_t axis,
                       const std::string& what, int max_width) {
  auto it = f.tensors.find(name);
  if (it == f.tensors.end()) throw ModelFileError(file, "tensor '" + name + "'", "missing");
  const auto& s = it->second.shape;
  if (s.size() != 2 || s[axis] < 1 || s[axis] > static_cast<std::uint64_t>(max_width))
    throw ModelFileError(file, "tensor '" + name + "'.shape",
                         "must be rank 2 with " + what + " in 1.." + std::to_string(max_width) + ", got " + shape_text(s));
  return s[axis];
}

std::string dtype_label(const SafetensorsFile& f, const std::string& name) {
  const Tensor& t = f.tensors.at(name);
  return std::string(dtype_name(t.dtype)) + (f.tensors.count(name + ".exact") ? "+exact" : "");
}

std::string dtype_labels(const SafetensorsFile& f, const std::vector<std::string>& names) {
  std::set<std::string> labels;
  for (const auto& name : names)
    if (f.tensors.count(name)) labels.insert(dtype_label(f, name));
  std::string out;
  for (const auto& l : labels) out += (out.empty() ? "" : ",") + l;
  return out;
}

void put_table(SafetensorsFile& f, const std::string& file, const std::string& name, const std::vector<ExactReal>& values,
               std::vector<std::uint64_t> shape, bool exact, DType dtype) {
  if (values.empty()) return;
  if (exact) return add_exact_real_tensor(f, name, std::move(shape), values);
  std::vector<double> v;
  v.reserve(values.size());
  for (const auto& x : values) v.push_back(nearest_double(x));
  f.tensors[name] = make_float_tensor(file, name, dtype, std::move(shape), v);
}

}  // namespace attnbounds::model_fields
