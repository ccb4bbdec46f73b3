// What every min-p command shares (certify/min_precision.hpp decides p*): the options-to-config
// step and the one JSON writer of a min-p result (its text is render_text's), for every claim: qSA
// constructions, qSA model files, the Match constructions and the learning runs.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "certify/min_precision.hpp"
#include "checks/result_json.hpp"

namespace attnbounds {

struct Match3LocalResult;

// The configuration of --mode (embed | arith), --number-format (float | fixed), --p-min, --p-max;
// validated (ConfigError on a bad field).
MinPrecisionConfig min_precision_config(const std::string& mode, const std::string& number_format, int p_min, int p_max,
                                        FieldLimits p_limits = MinPrecisionConfig::kP);

// The family as a semantics pattern: "embed:float:P" or "arith:fixed:4.F".
std::string min_precision_family_name(const MinPrecisionConfig& config);

// The min-p fields of a result: params (format, mode, p_min, p_max), cases, p_star (null when
// none in range), p_star_meaning, islands, table, bound, worst (p* itself; null without one).
// `cases_per_p` cases are checked at each tested precision; `bound` is what each row compares
// with, as printed.  A table row has the row's certified worst-case ends (6 digits, rounded
// outward) and, when it fails, its witness: "witness_S" (a subset, 1-based) or "witness_x" and
// "witness_token" (an input and its 1-based token).
void write_min_precision(json& out, const MinPrecisionResult& r, const MinPrecisionConfig& config,
                         std::uint64_t cases_per_p, const std::string& bound);

// The min-p result of a Match claim: p* by min_precision over `trial`, then the verdict under the
// bounded hardware formats bf16, fp16 and fp32 in the same mode (their exponent ranges included,
// so they can differ from float:8, float:11, float:24), or why the checker refuses one.
// `first_check` is the JSON of the first check `trial` ran (filled by it): its params, cases and
// bound describe the claim; `skeleton(params)` makes the result's common fields.
json match_min_precision_result(const MinPrecisionConfig& config, const PrecisionCheck& trial, const json& first_check,
                                unsigned threads, const std::function<json(const json& params)>& skeleton);

// A min-p trial from a check's JSON result (a model file's check, say): verdict, the worst case's
// printed ends (outward-rounded decimals, still certified bounds) and a failing input witness.
PrecisionTrial trial_from_check_json(const json& check);

// A min-p trial from a match3-local check (the construction's or a model file's): its verdict and
// the doubles of its worst decode-error bound.  No input witness: an input of these claims needs
// its hint sets as well (the check prints them).
PrecisionTrial trial_of_match3_local(const Match3LocalResult& r);

// The table alone (the learning runs embed it in their own result).
json min_precision_table_json(const MinPrecisionResult& r);

}  // namespace attnbounds
