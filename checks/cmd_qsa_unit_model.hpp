// Class qsa-unit on the command line (docs/model-format.md): check / eval qsa --model of a
// qsa-unit file (checks/cmd_qsa_unit_model.cpp), dispatched from checks/cmd_model.cpp.
#pragma once
#include <string>
#include <vector>

#include "common.hpp"
#include "model/matrix.hpp"
#include "numeric/interval.hpp"
#include "numeric/rational.hpp"

namespace attnbounds {

// The file's __metadata__.class ("" when the file cannot be read: the class's reader reports it).
std::string model_file_class(const std::string& path);
bool is_qsa_unit_file(const std::string& path);
void run_check_qsa_unit_model(const std::string& path, const Rational& eps, const CommonOptions& common);
// z: N × d', y: 0-based sorted subsets (already checked against the file's N, q, d').
void run_eval_qsa_unit_model(const std::string& path, const Mat<Rational>& z, const std::vector<std::vector<int>>& y,
                             const CommonOptions& common);
// eval qsa --model's "tokens": per token the outward-rounded enclosure of its output and the qSA.
json qsa_eval_tokens(const Mat<Interval>& out, const Mat<Rational>& truth);
// Why min-p qsa --model refuses a qsa-unit file (exact semantics only).
[[noreturn]] void refuse_min_p_qsa_unit(const std::string& path);

}  // namespace attnbounds
