// Certifying a trained attention unit: the model file's bytes are read back exactly as a user's
// file would be, and the same exhaustive qSA checker and min-p rule as `check qsa --model` and
// `min-p qsa --model` run on them.  The result is a theorem about that model only.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "certify/min_precision.hpp"
#include "certify/qsa_checker.hpp"
#include "learn/qsa_learning.hpp"
#include "modelfile/qsa_model.hpp"

namespace attnbounds {

// The bytes of the model file of a trained unit (class qsa-table, dtype F64 or F32), with the
// given informational metadata (params, provenance).
std::vector<unsigned char> trained_model_file_bytes(const TrainedAttention& a, DType dtype,
                                                    const std::map<std::string, std::string>& metadata,
                                                    const std::string& file_name);

struct TrainedCertification {
  QsaCheckResult check;  // exact semantics: verdict at ε and the certified worst case over every input
  std::optional<MinPrecisionResult> min_p_embed, min_p_arith;  // float:P family
  // A failing model: ‖f(X)_1 − qSA(X)_1‖ of the witness input by an independent double forward
  // pass of the table (table_token_errors), for comparison with the certified enclosure.
  std::optional<double> witness_error_double;
};

struct CertifyOptions {
  Rational eps = Rational(1, 10);
  bool min_p = true;
  int p_min = 2, p_max = 24;
  unsigned threads = 1;
};

// Parses `bytes` as a model file (file_name in errors) and certifies it.
TrainedCertification certify_trained_model(const std::vector<unsigned char>& bytes, const std::string& file_name,
                                           const CertifyOptions& opts);
TrainedCertification certify_table_model(const QsaTableModel& m, const CertifyOptions& opts);

}  // namespace attnbounds
