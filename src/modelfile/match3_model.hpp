// The model-file class "match3-third-order" (docs/model-format.md): one third-order unit
// (math §1.5) on tokens x_i ∈ [M] whose query, two keys and two values are tables over the token
// value; ψ sees x_i and thresholds a linear functional of the unit's output whose weights are a
// table over x_i: z_i = psi_table[x_i] · out_i, ψ = 1[z_i > τ] (or < τ).
//
// Certification: the checker of proofs/match3_third_order.* with the file's tables.  The unit is
// position-free and permutation-equivariant, so the multiset reduction holds; the softmax over
// the N² pairs groups by residue pair with weight n_b1·n_b2.  Under arith semantics every tuple.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "modelfile/match2_model.hpp"
#include "proofs/match3_third_order.hpp"

namespace attnbounds {

inline constexpr int kMatch3ModelMaxWidth = 16;  // m and d

struct Match3ThirdOrderModel {
  int N = 0, M = 0, m = 0, d = 0;
  // Row-major tables over token values: query, key1, key2 (M × m); value1, value2, psi_table (M × d).
  std::vector<ExactReal> query, key1, key2, value1, value2, psi_table;
  ExactReal threshold;
  bool matched_below = false;  // ψ = 1 iff z < τ (else iff z > τ)
  std::map<std::string, std::string> metadata;
  std::string construction, dtypes;
};

Match3ThirdOrderModel match3_third_order_model_from(const std::string& file, const SafetensorsFile& f);
Match3ThirdOrderModel read_match3_third_order_model(const std::string& path);
SafetensorsFile match3_third_order_model_file(const Match3ThirdOrderModel& m, const ModelWriteOptions& opts = {},
                                              const std::string& file = "(model)");
void write_match3_third_order_model(const std::string& path, const Match3ThirdOrderModel& m,
                                    const ModelWriteOptions& opts = {});

// The toolkit's construction (proofs/match3_third_order.hpp) as exact tables; ψ's table is
// (cos θ, −cos θ, −sin θ, −sin θ), τ = 1 − g/2.
Match3ThirdOrderModel match3_third_order_model_of_construction(int N, int M, const Rational& c, bool flip_query_sign);

std::string match3_certifiable_structure_problem(const Match3ThirdOrderModel& m, const Semantics& sem);

// Multiset cases 5·10^7, tuples (arith) 2·10^5, as the built-in check.
Match2TableCheckResult check_match3_third_order_model(const Match3ThirdOrderModel& m, const Semantics& sem,
                                                      unsigned threads, bool force);
MatchEvalResult eval_match3_third_order_model(const Match3ThirdOrderModel& m, const Semantics& sem, const std::vector<int>& x);

}  // namespace attnbounds
