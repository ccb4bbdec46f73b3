// Match model files on the command line (docs/model-format.md): check / eval match2 --model,
// export match2.
#pragma once
#include <string>

#include "common.hpp"

namespace attnbounds {

void run_check_match2_model(const std::string& model, const CommonOptions& common);
void run_eval_match2_model(const std::string& model, const std::string& input, const CommonOptions& common);
void register_match_model_commands();

}  // namespace attnbounds
