#include "modelfile/qsa_model.hpp"

#include <set>
#include <stdexcept>

#include "enumerate/combinatorics.hpp"
#include "modelfile/model_fields.hpp"

namespace attnbounds {

namespace {

const std::set<std::string> kTensors = {"query_table", "key_table", "value_map", "output_map"};

using model_fields::meta;
using model_fields::meta_int;

const Tensor& tensor(const std::string& file, const SafetensorsFile& f, const std::string& name) {
  auto it = f.tensors.find(name);
  if (it == f.tensors.end()) throw ModelFileError(file, "tensor '" + name + "'", "missing");
  if (it->second.dtype == DType::U8) throw ModelFileError(file, "tensor '" + name + "'", "must be F64, F32, BF16 or F16 (got U8)");
  return it->second;
}

void require_shape(const std::string& file, const std::string& name, const Tensor& t, std::uint64_t rows,
                   std::uint64_t cols, const std::string& why) {
  if (t.shape.size() != 2 || t.shape[0] != rows || (cols != 0 && t.shape[1] != cols)) {
    std::string got = "[";
    for (std::size_t i = 0; i < t.shape.size(); ++i) got += (i ? ", " : "") + std::to_string(t.shape[i]);
    got += "]";
    throw ModelFileError(file, "tensor '" + name + "'.shape",
                         "must be [" + std::to_string(rows) + ", " + (cols ? std::to_string(cols) : std::string("k")) +
                             "] (" + why + "), got " + got);
  }
}

Mat<Rational> matrix_of(const std::string& file, const SafetensorsFile& f, const std::string& name) {
  const Tensor& t = f.tensors.at(name);
  std::vector<Rational> v = tensor_exact(file, f, name);
  Mat<Rational> m(t.shape[0], t.shape[1]);
  for (std::size_t i = 0; i < v.size(); ++i) m(i / t.shape[1], i % t.shape[1]) = v[i];
  return m;
}

bool is_identity(const Mat<Rational>& m) {
  if (m.rows() != m.cols()) return false;
  for (std::size_t i = 0; i < m.rows(); ++i)
    for (std::size_t j = 0; j < m.cols(); ++j)
      if (m(i, j) != (i == j ? 1 : 0)) return false;
  return true;
}

std::string dtype_label(const SafetensorsFile& f, const std::string& name) {
  const Tensor& t = f.tensors.at(name);
  return std::string(dtype_name(t.dtype)) + (f.tensors.count(name + ".exact") ? "+exact" : "");
}

}  // namespace

QsaTableModel qsa_table_model_from(const std::string& file, const SafetensorsFile& f, std::uint64_t max_entries) {
  if (meta(file, f, "format") != kModelFormatName)
    throw ModelFileError(file, "__metadata__.format", std::string("must be '") + kModelFormatName + "'");
  const std::string& cls = meta(file, f, "class");
  if (cls != "qsa-table")
    throw ModelFileError(file, "__metadata__.class",
                         "is '" + cls + "', not qsa-table: the qSA checker needs a query table over subsets and a key "
                         "table over positions (class qsa-table, format version 1)" +
                             (cls == "qsa-unit"
                                  ? std::string("; a qsa-unit file is read by check qsa --model and eval qsa --model "
                                                "only (exact semantics; this command's reduction is stated for the "
                                                "tables of qsa-table)")
                                  : std::string()) +
                             (cls == "attention-unit"
                                  ? std::string("; an attention-unit file is a unit on tokens of [M], while qSA's inputs "
                                                "carry real z_i, whose worst case has a proof only in that structure")
                                  : std::string()));
  meta_int(file, f, "format_version", kModelFormatVersion, kModelFormatVersion);
  if (f.metadata.count("heads") && meta(file, f, "heads") != "1")
    throw ModelFileError(file, "__metadata__.heads",
                         "must be 1: class qsa-table is one unit (a sum of heads has no table reduction here)");
  if (f.metadata.count("residual") && meta(file, f, "residual") != "false")
    throw ModelFileError(file, "__metadata__.residual",
                         "must be false: a residual adds φ(x_i), which depends on z_i, outside the certifiable qSA class");
  QsaTableModel m;
  m.metadata = f.metadata;
  m.N = static_cast<int>(meta_int(file, f, "N", 1, 100000));
  m.q = static_cast<int>(meta_int(file, f, "q", 1, m.N));
  m.d = static_cast<int>(meta_int(file, f, "d", 1, 4096));
  const std::uint64_t subsets = binomial_saturating(m.N, m.q);
  if (subsets > max_entries)
    throw ModelFileError(file, "__metadata__.N",
                         "C(N, q) = " + (subsets == UINT64_MAX ? std::string("more than 2^64") : std::to_string(subsets)) +
                             " query rows exceed the limit of " + std::to_string(max_entries) + " entries");
  for (const auto& [name, t] : f.tensors) {
    const bool companion = name.size() > 6 && name.compare(name.size() - 6, 6, ".exact") == 0 &&
                           kTensors.count(name.substr(0, name.size() - 6));
    if (!kTensors.count(name) && !companion)
      throw ModelFileError(file, "tensor '" + name + "'",
                           "unknown in class qsa-table (allowed: query_table, key_table, value_map, output_map, and NAME.exact)");
  }
  const Tensor& keys = tensor(file, f, "key_table");
  if (keys.shape.size() != 2 || keys.shape[0] != static_cast<std::uint64_t>(m.N) || keys.shape[1] < 1 || keys.shape[1] > 4096)
    require_shape(file, "key_table", keys, m.N, 0, "one key of width k in 1..4096 per position j");
  const std::uint64_t k = keys.shape[1];
  require_shape(file, "query_table", tensor(file, f, "query_table"), subsets, k,
                "one query per q-subset of [N] in lexicographic order, width k of key_table");
  require_shape(file, "value_map", tensor(file, f, "value_map"), m.d, m.d, "v_j = value_map · z_j");
  const Tensor& out = tensor(file, f, "output_map");
  if (out.shape.size() != 2 || out.shape[1] != static_cast<std::uint64_t>(m.d) || out.shape[0] < 1 || out.shape[0] > 4096)
    require_shape(file, "output_map", out, m.d, m.d, "ψ(u) = output_map · u with u of width d");
  if (subsets * k > max_entries)
    throw ModelFileError(file, "tensor 'query_table'.shape",
                         "C(N, q)·k = " + std::to_string(subsets * k) + " entries exceed the limit of " +
                             std::to_string(max_entries));
  m.key_table = matrix_of(file, f, "key_table");
  m.query_table = matrix_of(file, f, "query_table");
  m.value_map = matrix_of(file, f, "value_map");
  m.output_map = matrix_of(file, f, "output_map");
  if (f.metadata.count("construction")) m.construction = f.metadata.at("construction");
  std::set<std::string> labels;
  for (const auto& name : kTensors) labels.insert(dtype_label(f, name));
  for (const auto& l : labels) m.dtypes += (m.dtypes.empty() ? "" : ",") + l;
  return m;
}

QsaTableModel read_qsa_table_model(const std::string& path, std::uint64_t max_entries) {
  return qsa_table_model_from(path, read_safetensors(path), max_entries);
}

SafetensorsFile qsa_table_model_file(const QsaTableModel& m, const ModelWriteOptions& opts, const std::string& file) {
  SafetensorsFile f;
  f.metadata = m.metadata;
  f.metadata["format"] = kModelFormatName;
  f.metadata["format_version"] = std::to_string(kModelFormatVersion);
  f.metadata["class"] = "qsa-table";
  f.metadata["N"] = std::to_string(m.N);
  f.metadata["q"] = std::to_string(m.q);
  f.metadata["d"] = std::to_string(m.d);
  f.metadata["heads"] = "1";
  f.metadata["residual"] = "false";
  if (!m.construction.empty()) f.metadata["construction"] = m.construction;
  auto put = [&](const std::string& name, const Mat<Rational>& a) {
    std::vector<std::uint64_t> shape = {a.rows(), a.cols()};
    if (opts.exact) {
      add_exact_tensor(f, name, shape, a.data());
    } else {
      std::vector<double> v;
      v.reserve(a.data().size());
      for (const auto& x : a.data()) v.push_back(nearest_double(x));
      f.tensors[name] = make_float_tensor(file, name, opts.dtype, shape, v);
    }
  };
  put("query_table", m.query_table);
  put("key_table", m.key_table);
  put("value_map", m.value_map);
  put("output_map", m.output_map);
  return f;
}

void write_qsa_table_model(const std::string& path, const QsaTableModel& m, const ModelWriteOptions& opts) {
  write_safetensors(path, qsa_table_model_file(m, opts, path));
}

QsaTableModel qsa_table_model_of(const QsaEmbedding& emb, const std::string& construction) {
  QsaTableModel m;
  m.N = emb.N();
  m.q = emb.q();
  m.d = emb.d();
  m.construction = construction;
  m.key_table = emb.keys();
  const std::size_t k = m.key_table.cols();
  m.query_table = Mat<Rational>(binomial(m.N, m.q), k);
  std::vector<int> S(m.q);
  for (int i = 0; i < m.q; ++i) S[i] = i;
  std::size_t r = 0;
  do {
    std::vector<Rational> query = emb.query(S);
    if (query.size() != k) throw std::logic_error("construction query width differs from its key width");
    for (std::size_t c = 0; c < k; ++c) m.query_table(r, c) = query[c];
    ++r;
  } while (next_subset(S.data(), m.q, m.N));
  m.value_map = Mat<Rational>(m.d, m.d);
  m.output_map = Mat<Rational>(m.d, m.d);
  for (int i = 0; i < m.d; ++i) m.value_map(i, i) = m.output_map(i, i) = 1;
  m.metadata["temperature"] = to_exact_string(emb.temperature());
  return m;
}

std::string qsa_certifiable_structure_problem(const QsaTableModel& m, bool exact_semantics) {
  if (exact_semantics) {
    if (m.output_map.rows() != static_cast<std::size_t>(m.d))
      return "output_map: ψ must map to width d = " + std::to_string(m.d) + " (qSA's output width)";
    if (!is_identity(matmul(m.output_map, m.value_map)))
      return "output_map·value_map is not the identity: the exact worst case over z is derived for outputs "
             "Σ_j a_ij z_j only (sup_z ‖Σ_j (a_j − t_j) z_j‖ = Σ_j |a_j − t_j|); another linear map has no "
             "reduction implemented here";
    return {};
  }
  if (!is_identity(m.value_map) || !is_identity(m.output_map))
    return "value_map and output_map must each be the identity under embed/arith semantics: the rounding model "
           "rounds z itself and bounds ‖round(z) − z‖, which says nothing about a rounded V·z";
  return {};
}

std::vector<Rational> QsaTableEmbedding::query(const std::vector<int>& S) const {
  const std::uint64_t r = rank_subset(S, m_.N);
  const Rational* row = m_.query_table.row(r);
  return std::vector<Rational>(row, row + m_.query_table.cols());
}

}  // namespace attnbounds
