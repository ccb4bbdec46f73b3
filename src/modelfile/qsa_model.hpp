// The attnbounds model file (docs/model-format.md), version 1, class "qsa-table": one attention
// unit on tokens x_i = (z_i, y_i, i) whose query is a table over the subset y_i, whose key is a
// table over the position j, whose value is linear in z_j, and whose output map ψ is linear.
//
// A model of this class is a QsaEmbedding, so the certified exhaustive qSA checker runs on it
// unchanged, provided ψ·V is the identity (then the unit's output is Σ_j a_ij z_j, the form
// whose worst case over z the checker computes exactly).
#pragma once
#include <map>
#include <string>
#include <vector>

#include "model/matrix.hpp"
#include "model/qsa_embedding.hpp"
#include "modelfile/safetensors.hpp"
#include "numeric/rational.hpp"

namespace attnbounds {

inline constexpr const char* kModelFormatName = "attnbounds-model";
inline constexpr int kModelFormatVersion = 1;

struct QsaTableModel {
  int N = 0, q = 0, d = 0;      // tokens, subset size, value width d'
  Mat<Rational> query_table;    // C(N, q) × k, row r = query of the r-th subset (lexicographic)
  Mat<Rational> key_table;      // N × k
  Mat<Rational> value_map;      // d' × d': v_j = value_map · z_j
  Mat<Rational> output_map;     // d_out × d': ψ(u) = output_map · u
  std::map<std::string, std::string> metadata;  // every __metadata__ entry, as read
  std::string construction;     // informational ("qsa-cyclic", "trained", ...)
  std::string dtypes;           // e.g. "F64+exact", "F32": what the numbers were stored as
  int k() const { return static_cast<int>(key_table.cols()); }
};

// Reads and validates a model file of class qsa-table.  Every error is a ModelFileError naming
// the file and the field.  Refuses a query table of more than max_entries = C(N, q)·k exact
// entries before converting it.
QsaTableModel read_qsa_table_model(const std::string& path, std::uint64_t max_entries = 20000000);
QsaTableModel qsa_table_model_from(const std::string& file, const SafetensorsFile& f,
                                   std::uint64_t max_entries = 20000000);

// Writes a model: exact (F64 nearest doubles plus exact companions) or rounded to `dtype`.
struct ModelWriteOptions {
  bool exact = true;
  DType dtype = DType::F64;  // when !exact
};
// `file` names the destination in errors (a value that overflows the dtype).
SafetensorsFile qsa_table_model_file(const QsaTableModel& m, const ModelWriteOptions& opts = {},
                                     const std::string& file = "(model)");
void write_qsa_table_model(const std::string& path, const QsaTableModel& m, const ModelWriteOptions& opts = {});

// The exact table of a construction: every subset's query (temperature included) and the keys.
// Throws std::runtime_error naming S when the construction has no query for some subset.
QsaTableModel qsa_table_model_of(const QsaEmbedding& emb, const std::string& construction);

// The structure the exhaustive checker needs, verified on the model; empty when certifiable,
// else why not (one line, naming the field).  Under rounding semantics V and ψ must each be the
// identity (the checker's rounding model rounds z itself); under exact, ψ·V = I suffices.
std::string qsa_certifiable_structure_problem(const QsaTableModel& m, bool exact_semantics);

// A QsaEmbedding view of a model (the model must outlive it).
class QsaTableEmbedding : public QsaEmbedding {
 public:
  explicit QsaTableEmbedding(const QsaTableModel& m) : m_(m) {}
  std::string name() const override { return "model"; }
  int N() const override { return m_.N; }
  int q() const override { return m_.q; }
  int d() const override { return m_.d; }
  int m() const override { return m_.d + 2 * m_.k(); }
  const Mat<Rational>& keys() const override { return m_.key_table; }
  std::vector<Rational> query(const std::vector<int>& S) const override;
  Rational temperature() const override { return 1; }  // inside the table

 private:
  const QsaTableModel& m_;
};

}  // namespace attnbounds
