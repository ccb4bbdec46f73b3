// The model-file class "match3-local" (docs/model-format.md): one standard attention unit for the
// hinted Match3 tasks of proofs/match3_local.* (math §4.5).  Keys are a table over positions, the
// query of token i a table over its hint set y_i (one row per q-subset of [N], or one row per
// token for the window variant), values a table over token values (ψ's power encoding, width q),
// ψ the power-sum decoder with scale q, which sees x_i.
//
// Certification: the checker of proofs/match3_local.* on the file's tables (its reduction over
// hint sets needs exactly this structure, which the type enforces).
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "modelfile/qsa_model.hpp"
#include "modelfile/safetensors.hpp"
#include "proofs/match3_local.hpp"

namespace attnbounds {

inline constexpr const char* kMatch3LocalClass = "match3-local";
inline constexpr const char* kMatch3LocalPsi = "power-sum-decoder";

struct Match3LocalModel {
  bool window = false;  // hints: "window" (token i's w = q positions after i) or "all-subsets"
  int N = 0, M = 0, q = 0, K = 0;
  std::vector<Rational> keys;     // N × K
  std::vector<Rational> queries;  // rows × K: row r is the q-subset of rank r, or token r's window
  std::vector<Rational> values;   // M × q
  std::map<std::string, std::string> metadata;
  std::string construction, dtypes;
  std::uint64_t query_rows() const;
};

// Query entries held in memory at most (rows × K), unless the caller raises it (--force).
inline constexpr std::uint64_t kMatch3LocalMaxQueryEntries = 20'000'000ULL;

Match3LocalModel match3_local_model_from(const std::string& file, const SafetensorsFile& f,
                                         std::uint64_t max_query_entries = kMatch3LocalMaxQueryEntries);
Match3LocalModel read_match3_local_model(const std::string& path, std::uint64_t max_query_entries = kMatch3LocalMaxQueryEntries);
SafetensorsFile match3_local_model_file(const Match3LocalModel& m, const ModelWriteOptions& opts = {},
                                        const std::string& file = "(model)");
void write_match3_local_model(const std::string& path, const Match3LocalModel& m, const ModelWriteOptions& opts = {});

// The construction's tables, exact (every query row materialised).
Match3LocalModel match3_local_model_of_construction(const Match3LocalConfig& cfg, const Rational& c);
// The unit the checker runs on: the file's query row of a hint set by its rank (or its window).
Match3LocalUnit match3_local_unit_of(const Match3LocalModel& m);

}  // namespace attnbounds
