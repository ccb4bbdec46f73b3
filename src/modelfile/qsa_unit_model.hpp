// The model-file class "qsa-unit" (docs/model-format.md, version 2): the qSA unit in its general
// form.  Tokens x_i = (z_i, y_i, i); the query of token i is a table over y_i or an MLP on
// (1_{y_i}, e(i)); the key of position j a table or an MLP on e(j); values V·z_j and the output
// map ψ(u) = P·u are linear (no bias).  Then token i's attention row depends on (y_i, i) alone,
// and with A = P·V and t = 1_S/q its error on an input is ‖Σ_j B_j z_j‖, B_j = a_ij·A − t_j·I.
//
// check_qsa_unit runs a filtered sweep (core/filtered_sweep.hpp) over the rows: one per subset S
// (position-free query) or per (S, i).  A = αI (checked exactly): the worst case over z is exactly
// Σ_j |α·a_j − t_j|.  Otherwise: upper Σ_j min(‖B_j‖_F, √(‖B_j‖_1‖B_j‖_∞)), lower the best
// u ∈ {e_1..e_d'} of Σ_j ‖B_jᵀu‖.  A failing row's witness is re-run through a direct forward pass
// (model/attention.hpp on MPFI, queries and keys from the explicit feature vectors).
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/semantics_policy.hpp"
#include "core/verdict.hpp"
#include "model/matrix.hpp"
#include "modelfile/linear_layers.hpp"
#include "modelfile/qsa_model.hpp"
#include "modelfile/safetensors.hpp"
#include "numeric/interval.hpp"
#include "numeric/rational.hpp"

namespace attnbounds {

inline constexpr const char* kQsaUnitClass = "qsa-unit";
inline constexpr int kQsaUnitFormatVersion = 2;
// exact only: a rounding model for MLP queries and general linear maps is not written.
inline constexpr SemanticsSupport kQsaUnitSemantics{true, false, false, false};

struct QsaUnitLimits {
  static constexpr int kMaxN = 64, kMaxD = 16, kMaxKeyWidth = 64, kMaxValueWidth = 64;
  static constexpr std::uint64_t kMaxTableEntries = 20000000;  // C(N, q)·k exact entries
};

struct QsaUnitModel {
  int N = 0, q = 0, d = 0;  // tokens, subset size, value width d'
  Activation activation = Activation::Relu;
  bool query_is_table = true, key_is_table = true;
  Mat<Rational> query_table;         // C(N, q) × k, row r(y_i) (lexicographic rank)
  std::vector<LinearMap> query_mlp;  // on (1_{y_i}, e(i)) ∈ {0,1}^{2N}, last out k
  Mat<Rational> key_table;           // N × k
  std::vector<LinearMap> key_mlp;    // on e(j) ∈ {0,1}^N, last out k
  Mat<Rational> value_map;           // d_v × d'
  Mat<Rational> output_map;          // d' × d_v
  std::map<std::string, std::string> metadata;
  std::string construction, dtypes;

  int k() const { return query_is_table ? static_cast<int>(query_table.cols()) : query_mlp.back().out; }
  int dv() const { return static_cast<int>(value_map.rows()); }
  // The query depends on the position: an MLP query with a nonzero positional column of query.0.
  bool query_positional() const;
  // Rows of the check: C(N, q), or N·C(N, q) when the query is positional (saturating).
  std::uint64_t rows() const;
  // A = output_map·value_map (d' × d'), exact.
  Mat<Rational> product() const;
  // α when A = αI exactly.
  std::optional<Rational> scalar() const;
};

// Reads and validates a file of class qsa-unit; every error a ModelFileError naming file and field.
QsaUnitModel qsa_unit_model_from(const std::string& file, const SafetensorsFile& f);
QsaUnitModel read_qsa_unit_model(const std::string& path);
SafetensorsFile qsa_unit_model_file(const QsaUnitModel& m, const ModelWriteOptions& opts = {},
                                    const std::string& file = "(model)");
void write_qsa_unit_model(const std::string& path, const QsaUnitModel& m, const ModelWriteOptions& opts = {});

// A qsa-table model in this class: tables kept, value_map and output_map as they are.
// std::invalid_argument when it is outside the class's limits (N ≤ 64, d' ≤ 16, k ≤ 64,
// output width d', d_v ≤ 64).
QsaUnitModel qsa_unit_of_table(const QsaTableModel& t);

inline constexpr std::uint64_t kQsaUnitMaxRows = 2'000'000, kQsaUnitMaxForcedRows = 200'000'000;

struct QsaUnitCheckResult {
  Verdict verdict = Verdict::Undecided;
  std::uint64_t rows = 0;
  bool per_position = false;  // one row per (S, i)
  std::uint64_t fallback_rows = 0, undecided_rows = 0, failing_rows = 0;
  std::optional<Rational> alpha;  // A = αI: the worst case is exact
  Rational worst_lower, worst_upper;  // certified enclosure of the maximum over the rows
  bool has_witness = false;
  std::vector<int> witness_S;  // 0-based, sorted
  int witness_i = -1;          // 0-based token when per_position; else -1 (every token has the row)
  Mat<Rational> witness_z;     // N × d', every ‖z_j‖ ≤ 1; every token has y = S
  std::optional<Rational> forward_error_lower, forward_error_upper;  // direct forward pass
  mpfr_prec_t forward_bits = 0;
  bool witness_verified = false;
  std::string reduction, bound_derivation;
  double seconds = 0;
  unsigned threads = 0;
};

// The exhaustive check against ε.  ConfigError("semantics") outside exact; SizeLimitError above
// kQsaUnitMaxRows unless force, ConfigError("force") above kQsaUnitMaxForcedRows.
QsaUnitCheckResult check_qsa_unit(const QsaUnitModel& m, const Rational& eps, unsigned threads, bool force,
                                  const Semantics& sem = Semantics{});

// One row's certified enclosure of its worst case over z (exact when A = αI) and its witness z
// (N × d'), at `bits`: token i with y_i = S (i is ignored unless the query is positional).
struct QsaUnitRow {
  Rational lower, upper;
  Mat<Rational> z;
};
QsaUnitRow qsa_unit_row(const QsaUnitModel& m, const std::vector<int>& S, int i, mpfr_prec_t bits = 128);

// The direct forward pass on one input (0-based sorted y_i), MPFI at `bits`: per token the
// certified enclosure of output_map·Σ_j a_ij·value_map·z_j (N × d').  ConfigError("input") for an
// input of the wrong shape; ConfigError("semantics") outside exact.
Mat<Interval> eval_qsa_unit(const QsaUnitModel& m, const Mat<Rational>& z, const std::vector<std::vector<int>>& y,
                            mpfr_prec_t bits = 256, const Semantics& sem = Semantics{});

}  // namespace attnbounds
