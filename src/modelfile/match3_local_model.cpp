#include "modelfile/match3_local_model.hpp"

#include <memory>
#include <set>

#include "enumerate/combinatorics.hpp"
#include "modelfile/match2_model.hpp"
#include "modelfile/model_fields.hpp"

namespace attnbounds {

using namespace model_fields;

namespace {

const std::set<std::string> kLocalTensors = {"key_table", "query_table", "value_table"};

// A rational table with the required shape (trigonometric companions refused by tensor_exact).
std::vector<Rational> rational_table(const std::string& file, const SafetensorsFile& f, const std::string& name,
                                     const std::vector<std::uint64_t>& shape, const std::string& why) {
  model_fields::require_table(file, f, name, shape, why);
  return tensor_exact(file, f, name);
}

}  // namespace

std::uint64_t Match3LocalModel::query_rows() const {
  return window ? static_cast<std::uint64_t>(N) : binomial_saturating(N, q);
}

Match3LocalModel match3_local_model_from(const std::string& file, const SafetensorsFile& f, std::uint64_t max_query_entries) {
  if (meta(file, f, "format") != kModelFormatName)
    throw ModelFileError(file, "__metadata__.format", std::string("must be '") + kModelFormatName + "'");
  const std::string& cls = meta(file, f, "class");
  if (cls != kMatch3LocalClass)
    throw ModelFileError(file, "__metadata__.class",
                         "is '" + cls + "', not match3-local: the hinted Match3 checker needs a key table over positions, "
                         "a query table over hint sets, a value table over token values and the power-sum decoder psi");
  meta_int(file, f, "format_version", kMatchModelFormatVersion, kMatchModelFormatVersion);
  if (f.metadata.count("heads") && meta(file, f, "heads") != "1")
    throw ModelFileError(file, "__metadata__.heads", "must be 1: class match3-local is one unit");
  Match3LocalModel m;
  m.metadata = f.metadata;
  const std::string& hints = meta(file, f, "hints");
  if (hints != "all-subsets" && hints != "window")
    throw ModelFileError(file, "__metadata__.hints", "must be all-subsets or window (got '" + hints + "')");
  m.window = hints == "window";
  m.N = static_cast<int>(meta_int(file, f, "N", Match3LocalConfig::kN.lo, Match3LocalConfig::kN.hi));
  m.M = static_cast<int>(meta_int(file, f, "M", Match3LocalConfig::kM.lo, Match3LocalConfig::kM.hi));
  m.q = static_cast<int>(meta_int(file, f, "q", Match3LocalConfig::kQ.lo, std::min<long long>(Match3LocalConfig::kQ.hi, m.N - (m.window ? 1 : 0))));
  if (meta(file, f, "psi") != kMatch3LocalPsi)
    throw ModelFileError(file, "__metadata__.psi",
                         std::string("must be ") + kMatch3LocalPsi + ": the checker's certificate is for that decoder alone");
  meta_int(file, f, "psi_scale", m.q, m.q);  // ψ rounds q·out_k: the row's target weight is 1/q on the hint set
  for (const auto& [name, t] : f.tensors) {
    const bool companion = name.size() > 6 && name.compare(name.size() - 6, 6, ".exact") == 0 &&
                           kLocalTensors.count(name.substr(0, name.size() - 6));
    if (!kLocalTensors.count(name) && !companion)
      throw ModelFileError(file, "tensor '" + name + "'",
                           "unknown in class match3-local (allowed: key_table, query_table, value_table, and NAME.exact)");
  }
  m.K = static_cast<int>(width_of(file, f, "key_table", 1, "key width K", Match3LocalUnit::kMaxKeyWidth));
  const std::uint64_t rows = m.query_rows(), K = m.K;
  if (rows > max_query_entries / K)
    throw ModelFileError(file, "tensor 'query_table'.shape",
                         "C(N, q) x K = " + std::to_string(rows) + " x " + std::to_string(K) + " entries, above " +
                             std::to_string(max_query_entries) + " (--force raises the limit)");
  m.keys = rational_table(file, f, "key_table", {static_cast<std::uint64_t>(m.N), K}, "one key per position, width K");
  m.queries = rational_table(file, f, "query_table", {rows, K},
                             m.window ? "one query per token (its window), width K" : "one query per q-subset in rank order, width K");
  m.values = rational_table(file, f, "value_table", {static_cast<std::uint64_t>(m.M), static_cast<std::uint64_t>(m.q)},
                            "psi's power encoding per token value, width q");
  if (f.metadata.count("construction")) m.construction = f.metadata.at("construction");
  m.dtypes = dtype_labels(f, {kLocalTensors.begin(), kLocalTensors.end()});
  return m;
}

Match3LocalModel read_match3_local_model(const std::string& path, std::uint64_t max_query_entries) {
  return match3_local_model_from(path, read_safetensors(path), max_query_entries);
}

SafetensorsFile match3_local_model_file(const Match3LocalModel& m, const ModelWriteOptions& opts, const std::string& file) {
  SafetensorsFile f;
  f.metadata = m.metadata;
  f.metadata["format"] = kModelFormatName;
  f.metadata["format_version"] = std::to_string(kMatchModelFormatVersion);
  f.metadata["class"] = kMatch3LocalClass;
  f.metadata["hints"] = m.window ? "window" : "all-subsets";
  f.metadata["N"] = std::to_string(m.N);
  f.metadata["M"] = std::to_string(m.M);
  f.metadata["q"] = std::to_string(m.q);
  f.metadata["heads"] = "1";
  f.metadata["psi"] = kMatch3LocalPsi;
  f.metadata["psi_scale"] = std::to_string(m.q);
  if (!m.construction.empty()) f.metadata["construction"] = m.construction;
  auto put = [&](const std::string& name, const std::vector<Rational>& a, std::vector<std::uint64_t> shape) {
    if (opts.exact) return add_exact_tensor(f, name, shape, a);
    std::vector<double> v;
    v.reserve(a.size());
    for (const auto& x : a) v.push_back(nearest_double(x));
    f.tensors[name] = make_float_tensor(file, name, opts.dtype, shape, v);
  };
  const std::uint64_t K = m.K;
  put("key_table", m.keys, {static_cast<std::uint64_t>(m.N), K});
  put("query_table", m.queries, {m.query_rows(), K});
  put("value_table", m.values, {static_cast<std::uint64_t>(m.M), static_cast<std::uint64_t>(m.q)});
  return f;
}

void write_match3_local_model(const std::string& path, const Match3LocalModel& m, const ModelWriteOptions& opts) {
  write_safetensors(path, match3_local_model_file(m, opts, path));
}

Match3LocalModel match3_local_model_of_construction(const Match3LocalConfig& cfg, const Rational& c) {
  const Match3LocalUnit u = match3_local_construction_unit(cfg, c);
  Match3LocalModel m;
  m.window = cfg.window;
  m.N = cfg.N;
  m.M = cfg.M;
  m.q = cfg.q;
  m.K = u.key_width;
  m.keys = u.keys;
  m.values = u.values;
  m.construction = cfg.window ? "match3-window" : "match3-hinted";
  const std::uint64_t rows = m.query_rows();
  const auto windows = window_hints(cfg.N, cfg.q);
  std::vector<int> S(static_cast<std::size_t>(cfg.q));
  for (std::uint64_t r = 0; r < rows; ++r) {
    if (cfg.window) S = windows[r];
    else unrank_subset(r, cfg.N, cfg.q, S.data());
    const auto w = u.query_of(S);
    m.queries.insert(m.queries.end(), w.begin(), w.end());
  }
  m.metadata["c"] = to_exact_string(c);
  return m;
}

Match3LocalUnit match3_local_unit_of(const Match3LocalModel& m) {
  Match3LocalUnit u;
  u.window = m.window;
  u.N = m.N;
  u.M = m.M;
  u.q = m.q;
  u.key_width = m.K;
  u.keys = m.keys;
  u.values = m.values;
  // The table is shared by the copies of query_of (the checker's threads read it).
  auto table = std::make_shared<const std::vector<Rational>>(m.queries);
  const int N = m.N, K = m.K;
  if (m.window) {
    auto rows = std::make_shared<std::map<std::vector<int>, std::size_t>>();
    const auto windows = window_hints(m.N, m.q);
    for (std::size_t i = 0; i < windows.size(); ++i) rows->emplace(windows[i], i);
    u.query_of = [table, rows, K](const std::vector<int>& S) {
      const std::size_t r = rows->at(S);  // eval and the checker pass windows only
      return std::vector<Rational>(table->begin() + static_cast<std::ptrdiff_t>(r * K),
                                   table->begin() + static_cast<std::ptrdiff_t>((r + 1) * K));
    };
  } else {
    u.query_of = [table, N, K](const std::vector<int>& S) {
      const std::uint64_t r = rank_subset(S, N);
      return std::vector<Rational>(table->begin() + static_cast<std::ptrdiff_t>(r * K),
                                   table->begin() + static_cast<std::ptrdiff_t>((r + 1) * K));
    };
  }
  return u;
}

}  // namespace attnbounds
