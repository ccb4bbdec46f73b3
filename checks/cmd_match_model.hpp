// Match model files on the command line (docs/model-format.md): check / eval match2 --model,
// export match2.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "common.hpp"

namespace attnbounds {

// min-p match2 --model / min-p match3 / min-p match3-hinted|match3-window --model: the options of a
// minimal-precision scan of a file.
struct MatchMinPOfModel {
  CommonOptions common;
  std::string model, mode = "embed";
  int p_min = 2, p_max = 24;
};

void run_check_match2_model(const std::string& model, const CommonOptions& common);
void run_min_p_match2_model(const MatchMinPOfModel& options);
void run_eval_match2_model(const std::string& model, const std::string& input, const CommonOptions& common);
void register_match_model_commands();
// min-p of a Match model file: check_at(semantics, threads) is the file's check as JSON.
void run_min_p_of_model(const std::string& claim, const std::string& provenance, const MatchMinPOfModel& o,
                        const std::function<json(const Semantics&, unsigned)>& check_at);
// Class attention-unit through check / eval / min-p match2|match3 --model (checks/cmd_unit_model.cpp);
// task is "match2" or "match3".
bool is_attention_unit_file(const std::string& path);
void run_check_unit_model(const std::string& path, const std::string& task, const CommonOptions& common);
void run_eval_unit_model(const std::string& path, const std::string& task, const std::string& input,
                         const CommonOptions& common);
void run_min_p_unit_model(const MatchMinPOfModel& o, const std::string& task);
// check / eval match3-hinted|match3-window --model (class match3-local; the file's hints must be
// the claim's).  y: 0-based hint sets (ignored for the window variant).
struct Match3LocalModel;
Match3LocalModel load_match3_local_model(const std::string& path, bool window, bool force);
void run_check_match3_local_model(const std::string& path, bool window, const CommonOptions& common);
// min-p match3-hinted|match3-window --model: the file's check at every <mode>:float:p, as the
// built-in min-p runs the construction's.
void run_min_p_match3_local_model(const MatchMinPOfModel& options, bool window);
void run_eval_match3_local_model(const std::string& path, bool window, const std::vector<int>& x,
                                 const std::vector<std::vector<int>>& y, const CommonOptions& common);
// A Match eval result: JSON with --json, else a token table titled `title`; exit 1 when a token
// is wrong or undecided.
void emit_match_model_eval(const json& r, const CommonOptions& common, const std::string& title);

}  // namespace attnbounds
