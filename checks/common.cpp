#include "common.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include "core/atomic_file.hpp"
#include "core/input_file.hpp"

namespace attnbounds {

std::string flag_of_field(const std::string& field) {
  if (field.empty() || field.rfind("--", 0) == 0) return field;
  std::string flag = "--" + field;
  std::replace(flag.begin() + 2, flag.end(), '_', '-');
  return flag;
}


void add_common(CLI::App& app, CommonOptions& opts, bool with_semantics) {
  app.add_flag("--json", opts.json, "print one JSON object on stdout");
  app.add_option("--threads", opts.threads, "worker threads (0 = every CPU the process may use, see taskset); results do not depend on it")
      ->check(CLI::Range(0, 1024));
  // CLI11 would wrap "-1" into 2^64 - 1 silently.
  const CLI::Validator non_negative(
      [](std::string& text) {
        // Decimal digits only (no sign, hex or octal), and no wrap past 2^64 - 1.
        const std::string max = "18446744073709551615";
        bool ok = !text.empty() && text.size() <= max.size() && text.find_first_not_of("0123456789") == std::string::npos &&
                  (text.size() < max.size() || text <= max);
        return ok ? std::string() : "must be a decimal integer in 0..2^64-1 (got " + text + ")";
      },
      "UINT64");
  app.add_option("--seed", opts.seed, "seed for every random choice (default 1)")->check(non_negative);
  app.add_flag("--force", opts.force, "run enumerations above the size guard");
  if (with_semantics)
    app.add_option("--semantics", opts.semantics,
                   "exact | embed:<fmt> | arith:<fmt> | tiled:<fmt>:<T>; <fmt> = float:P, fixed:I.F, bf16, fp16, fp32, fp64")
        ->capture_default_str();
}

const CLI::Validator& non_empty_file_name() {
  static const CLI::Validator v([](std::string& text) { return text.empty() ? std::string("needs a file name (got \"\")") : std::string(); },
                                "FILE");
  return v;
}

Semantics semantics_of(const CommonOptions& opts) {
  try {
    return parse_semantics(opts.semantics);
  } catch (const std::invalid_argument& e) {
    throw UsageError("--semantics", e.what());
  }
}

void emit(const json& result, const CommonOptions& opts, int status) {
  // Strings that are not UTF-8 (a file name, say) are printed with U+FFFD rather than failing.
  const json printable = json::parse(result.dump(-1, ' ', false, json::error_handler_t::replace));
  if (opts.json) std::cout << printable.dump(2) << '\n';
  else std::cout << render_text(printable);
  std::cout.flush();
  if (!std::cout) throw OutputError(std::string("cannot write the result to standard output (") + std::strerror(errno) + ")");
  set_exit_status(status);
}

int status_of(const json& result) {
  // A result without a verdict must never exit 0 as if it held.
  std::string v = result.value("verdict", "undecided");
  return v == "holds" ? 0 : v == "fails" ? 1 : 3;
}

namespace {
constexpr long long kMaxPrecisionBits = 4096;  // the largest float:P the format parser accepts
}

void validate_N(long long N, const std::string& param) {
  if (N < 1) throw UsageError(param, "must be an integer >= 1 (got " + std::to_string(N) + ")");
}

void validate_N_q(long long N, long long q) {
  validate_N(N);
  if (q < 1 || q > N)
    throw UsageError("--q", "must be in 1..N = 1.." + std::to_string(N) + " (got " + std::to_string(q) + ")");
}

void validate_M(long long M, const std::string& param) {
  if (M < 2) throw UsageError(param, "must be an integer >= 2 (got " + std::to_string(M) + ")");
}

void validate_precision(long long p, const std::string& param) {
  require_range(param, p, 2, kMaxPrecisionBits);
}

void require_readable_file(const std::string& param, const std::string& path) {
  if (path.empty()) throw UsageError(param, "needs a file name");
  try {
    require_regular_input(path, kMaxTextInputBytes);
  } catch (const std::invalid_argument& e) {
    throw UsageError(param, e.what());
  }
}

Rational parse_rational_param(const std::string& param, const std::string& text) {
  try {
    return parse_rational(text);
  } catch (const std::invalid_argument& e) {
    throw UsageError(param, std::string(e.what()) + "; expected a number such as 0.1, 2/3 or 1e-3");
  }
}

std::vector<int> parse_int_list(const std::string& param, const std::string& text, int lo, int hi,
                                std::size_t min_count) {
  const std::string expected = "a comma-separated list of at least " + std::to_string(min_count) +
                               " integer(s) in " + std::to_string(lo) + ".." + std::to_string(hi) + " (got '" +
                               text + "')";
  std::vector<int> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    long long v = 0;
    std::size_t used = 0;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      throw UsageError(param, "expected " + expected);
    }
    if (used != item.size() || v < lo || v > hi) throw UsageError(param, "expected " + expected);
    out.push_back(static_cast<int>(v));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (out.size() < min_count) throw UsageError(param, "expected " + expected);
  return out;
}

}  // namespace attnbounds
