// Shared command-line plumbing for the subcommands: common options, output, exit status.
#pragma once
#include <CLI/CLI.hpp>

#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <vector>

#include "checks/params.hpp"
#include "checks/usage_error.hpp"
#include "core/config_error.hpp"
#include "registry.hpp"
#include "numeric/format.hpp"
#include "result_json.hpp"

namespace attnbounds {

struct CommonOptions {
  bool json = false;
  int threads = 0;  // 0 = every CPU in the affinity mask
  std::uint64_t seed = 1;
  std::string semantics = "exact";
  bool force = false;
  std::string time_limit = "10";  // minutes (--time-limit)
  std::string journal, resume;    // checkpoint file to create or continue / to continue
  bool mpi = false;               // shard the chunks over the ranks of mpirun
};

// The rows of --json, --threads, --seed, --force, --time-limit, --journal, --resume, --mpi and
// (when with_semantics) --semantics, to be appended to a command's own rows, and their targets
// in `opts`.  Binding them (bind_with_common, add_common) also installs, once the values are
// parsed, the run control every long reduction of the command obeys (enumerate/run_control.hpp):
// the progress line, the time limit, and the journal or MPI sharding.
ParamTable common_params(bool with_semantics = true);
std::vector<ParamBinding> common_bindings(CommonOptions& opts, bool with_semantics = true);
// A command's own rows followed by the common ones.
ParamTable with_common(ParamTable own, bool with_semantics = true);
// Binds `own` rows to `targets` and the common rows to `opts` in one table (see params.hpp).
// `table` must outlive the app (declare it at namespace scope).
GivenParams bind_with_common(CLI::App& app, const ParamTable& table, std::vector<ParamBinding> targets,
                             CommonOptions& opts);
// Adds only the common rows (for a command that has no table of its own yet).
void add_common(CLI::App& app, CommonOptions& opts, bool with_semantics = true);
// CLI11 check: a file-name option given as "" is an error, not "no file".
const CLI::Validator& non_empty_file_name();
// Parses opts.semantics, turning a malformed string into a UsageError on --semantics.
Semantics semantics_of(const CommonOptions& opts);
// Prints the result (JSON object alone on stdout with --json, text otherwise) and records
// the exit status for main.  With --journal/--resume the result gains "journal" (file, chunks
// resumed and written); under --mpi "mpi" (ranks, library) and the ranks check they reached the
// same result (annotate_run).
void emit(const json& result, const CommonOptions& opts, int status);
// Exit status from the result's verdict field (0 holds, 1 fails, 3 undecided).
int status_of(const json& result);
// What emit adds to a result, for a command that prints its JSON itself (collective under MPI:
// every rank calls it once).  Output of MPI ranks other than 0 is discarded whatever prints it.
void annotate_run(json& result);
// Ends the run control of the command that ran (closes its journal).  Called by the driver.
void end_command_run();

// The exit status of an error a command threw and the one line the driver prints for it
// (defined with the driver, checks/command_line.cpp).
struct ErrorReport {
  int status = 4;
  std::string line;
};
ErrorReport describe_error(const std::exception_ptr& error);

// An error all MPI ranks share: the driver prints `line` (given on rank 0 only, so it is printed
// once) and exits with `status` on every rank.
class AgreedError : public std::exception {
 public:
  AgreedError(int status, std::string line) : status_(status), line_(std::move(line)) {}
  int status() const { return status_; }
  const std::string& line() const { return line_; }
  const char* what() const noexcept override { return line_.empty() ? "error reported by MPI rank 0" : line_.c_str(); }

 private:
  int status_;
  std::string line_;
};

// Runs `write` once: here, or under --mpi on rank 0 alone (so an output file such as a
// certificate is written once, by one process, and the others never touch its path).  Every rank
// then shares the outcome: when `write` fails, all ranks end with its error (collective under
// MPI).  The reductions inside `write` are not sharded (rank 0 computes all of them), so what it
// writes is what a single process writes.
void write_once(const std::function<void()>& write);
// write_once for a model file: a ModelFileError of `write` is a usage error naming --out.
void write_model_file_once(const std::function<void()>& write);
// Whether this process writes the command's output files: false on MPI ranks other than 0.
bool writes_outputs();
// Every rank's `mine` in rank order under --mpi (collective), else {mine}: for what a rank
// counted as a side effect of its own chunks, outside the reductions' partials.
std::vector<std::string> gather_over_ranks(const std::string& mine);

// The command-line flag of a library configuration field: the running command's table names it
// (params.hpp); otherwise "p_min" -> "--p-min".  The library reports bad input by field name
// (ConfigError); only the application knows the flags.
std::string flag_of_field(const std::string& field);

// Shared validation of the common parameters (math §7): each throws UsageError naming the
// parameter and its allowed range, so every claim rejects bad input with the same words.
void validate_N(long long N, const std::string& param = "--N");               // N >= 1
void validate_N_q(long long N, long long q);                                    // N >= 1, 1 <= q <= N
void validate_M(long long M, const std::string& param = "--M");               // M >= 2
void validate_precision(long long p, const std::string& param = "--p");       // 2 <= p <= 4096
// The file exists and can be opened for reading.
void require_readable_file(const std::string& param, const std::string& path);
// Parses an exact rational option value ("0.1", "2/3", "1e-3"), naming the parameter on error.
Rational parse_rational_param(const std::string& param, const std::string& text);
// "8,16,32" -> {8, 16, 32}: every item an integer in lo..hi, at least min_count items, no empty
// item.  Anything else is a UsageError naming `param` and the allowed range.
std::vector<int> parse_int_list(const std::string& param, const std::string& text, int lo, int hi,
                                std::size_t min_count = 1);

}  // namespace attnbounds
