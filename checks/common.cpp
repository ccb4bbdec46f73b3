#include "common.hpp"

#include <iostream>

namespace attnbounds {

void add_common(CLI::App& app, CommonOptions& opts, bool with_semantics) {
  app.add_flag("--json", opts.json, "print one JSON object on stdout");
  app.add_option("--threads", opts.threads, "worker threads (0 = all cores); results do not depend on it")
      ->check(CLI::Range(0, 1024));
  app.add_option("--seed", opts.seed, "seed for every random choice (default 1)");
  app.add_flag("--force", opts.force, "run enumerations above the size guard");
  if (with_semantics)
    app.add_option("--semantics", opts.semantics,
                   "exact | embed:<fmt> | arith:<fmt> | tiled:<fmt>:<T>; <fmt> = float:P, fixed:I.F, bf16, fp16, fp32, fp64")
        ->capture_default_str();
}

Semantics semantics_of(const CommonOptions& opts) {
  try {
    return parse_semantics(opts.semantics);
  } catch (const std::invalid_argument& e) {
    throw UsageError("--semantics", e.what());
  }
}

void emit(const json& result, const CommonOptions& opts, int status) {
  if (opts.json) std::cout << result.dump(2) << '\n';
  else std::cout << render_text(result);
  std::cout.flush();
  set_exit_status(status);
}

int status_of(const json& result) {
  std::string v = result.value("verdict", "holds");
  return v == "holds" ? 0 : v == "fails" ? 1 : 3;
}

}  // namespace attnbounds
