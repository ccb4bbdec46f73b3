// The result object every check/lower command produces (math §7), and how it is printed.
#pragma once
#include <nlohmann/json.hpp>

#include <chrono>
#include <string>

#include "core/verdict.hpp"

namespace attnbounds {

using json = nlohmann::ordered_json;

int exit_status_for(Verdict v);  // 0, 1, 3

// Skeleton with the fields every check/lower result has: tool, version, command, claim,
// theorem, provenance, params, semantics.  The caller fills verdict, cases, worst, bound,
// seconds and threads (see finish_result).
json make_result(const std::string& command, const std::string& claim, const std::string& theorem,
                 const std::string& provenance, const json& params, const std::string& semantics);
// Sets verdict, seconds and threads.
void finish_result(json& result, Verdict verdict, double seconds, unsigned threads);

// Wall-clock stopwatch for the `seconds` field.
class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_;
};

// Human-readable rendering of a result: a header line with the verdict and the key fields.
std::string render_text(const json& result);

}  // namespace attnbounds
