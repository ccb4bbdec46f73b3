// The command line's one parameter table.  Every option of every command is a row: flag, kind,
// allowed range or values, default, help, and the library field it feeds.  From the rows come the
// CLI11 options (with validators whose allowed range shows in --help), the range checks (exit 2,
// one line naming the flag and the range), the default that runs, `list`'s parameter column and
// the mapping of a library ConfigError field back to its flag.
//
// A command declares its table at namespace scope from the shared definitions below, adjusting
// what differs (a default, a range, the help), and binds each row to the member that receives it:
//
//   const ParamTable kTable = {param::N.with_default(8).with_range(2, 64), param::M, param::json()};
//   ...
//   o->given = bind_params(*sub, kTable, {{"--N", &o->N}, {"--M", &o->M}, {"--json", &o->common.json}});
//
// bind_params writes each row's default into its target, so the default shown in --help is the
// value that runs.  A default that depends on other parameters is stated in words
// (with_computed_default) and the target keeps its "not given" value.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "core/field_checks.hpp"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace attnbounds {

enum class ParamKind {
  Flag,      // present or not
  Int,       // decimal integer in [lo, hi]
  UInt64,    // decimal integer in [0, 2^64 - 1]
  Choice,    // one of `choices`
  Rational,  // exact decimal or p/q, optionally restricted to (0, 1) or > 0
  IntList,   // comma-separated integers, each in [lo, hi]
  Text,      // free text (file names, semantics strings); checked by the command
  Real,      // a decimal number (the command checks its range)
  TextList,  // comma-separated strings
};

// A restriction on a rational parameter, checked when the value is parsed.
enum class RationalRange { Any, Positive, OpenUnit /* (0, 1) */ };

struct ParamDef {
  std::string flag;  // "--N", or a positional name such as "FILE"
  ParamKind kind = ParamKind::Text;
  std::string help;
  std::string default_value;             // what runs when the flag is absent ("" = nothing / not given)
  std::string computed_default;          // shown instead when the default depends on other values
  long long lo = 0, hi = 0;              // Int, IntList
  // Int: a bound given by another Int row of the same table ("--N" for q <= N), checked once
  // every value is parsed.
  std::string lo_flag, hi_flag;
  // Int: the allowed range in words when it depends on other values ("2q+1..4096"); lo..hi is
  // then the coarse range the validator enforces and the command checks the rest.
  std::string range_note;
  std::vector<std::string> choices;      // Choice
  RationalRange rational = RationalRange::Any;
  std::string field;                     // library configuration field; "" = derived from the flag
  std::vector<std::string> aliases;      // other accepted spellings
  std::vector<std::string> deprecated;   // old spellings: accepted with a warning on stderr
  bool required = false;
  std::vector<std::string> excludes;     // flags that may not be given together with this one
  std::string value_hint;                // list column hint, e.g. "FILE" or "list"

  ParamDef with_default(const std::string& v) const;
  ParamDef with_default(long long v) const;
  ParamDef with_computed_default(const std::string& words) const;
  ParamDef with_range(long long lo_, long long hi_) const;
  // The range a library configuration declares for the field (core/field_checks.hpp).
  ParamDef with_range(FieldLimits limits) const { return with_range(limits.lo, limits.hi); }
  ParamDef with_help(const std::string& h) const;
  ParamDef with_choices(std::vector<std::string> c, const std::string& def) const;
  ParamDef with_flag(const std::string& f) const;
  ParamDef with_field(const std::string& f) const;
  ParamDef with_alias(const std::string& a) const;
  ParamDef with_deprecated(const std::string& a) const;
  ParamDef at_most(const std::string& other_flag) const;
  ParamDef with_range_note(const std::string& words) const;
  ParamDef at_least(const std::string& other_flag) const;
  ParamDef as_required() const;
  ParamDef excluding(const std::string& other) const;

  // The library field this row feeds: `field`, or the flag without dashes ("--p-min" -> "p_min").
  std::string field_name() const;
  // "1..64", "float | fixed", "(0, 1)", ... ("" when nothing is restricted).
  std::string allowed() const;
  // The default as --help shows it ("" = none).
  std::string shown_default() const;
  // The option's description in --help: help, then "[allowed: ...]" and "[default: ...]".
  std::string help_text() const;
};

using ParamTable = std::vector<ParamDef>;

// Where a parsed value goes.  Rational, IntList and Text values are kept as text and parsed by
// the command (the validator has already checked them).
using ParamTarget = std::variant<bool*, int*, std::uint64_t*, std::string*, double*, std::vector<std::string>*>;
struct ParamBinding {
  std::string flag;
  ParamTarget target;
};

// Which flags the user gave, for a command that checks a value against an input file.
class GivenParams {
 public:
  bool given(const std::string& flag) const;
  void add(const std::string& flag, CLI::Option* option) { options_[flag] = option; }

 private:
  std::map<std::string, CLI::Option*> options_;
};

// Adds one CLI11 option per row to `app`, writes each default into its target, and makes the
// table the one that names fields for ConfigError while this command runs.  Every row needs a
// binding and every binding a row (std::logic_error otherwise: a programming error, caught by
// the tests that build every command).
GivenParams bind_params(CLI::App& app, const ParamTable& table, const std::vector<ParamBinding>& bindings);

// Runs `action` once the values of `app` are parsed and checked, before its callback (after
// bind_params' own checks).  Several actions run in the order they were added.
void after_parse(CLI::App& app, std::function<void()> action);
// Forgets every action added so far.  run_command_line calls it before it builds its apps: a
// program that runs the command line more than once (the Python module) must not run an action
// of an earlier, destroyed app that happens to share its address.
void clear_after_parse_actions();

// `list`'s parameter column: "--N 2..64 --M 2..32 --semantics ... --json".
std::string params_column(const ParamTable& table);

// The flag of a library field in the table of the command that is running ("" = not found).
std::string flag_for_field(const std::string& field);
// The active table (the running command's), or nullptr before parsing.
const ParamTable* active_param_table();

// Levenshtein distance, for "did you mean" suggestions.
std::size_t edit_distance(const std::string& a, const std::string& b);
// The name in `known` nearest to `given` (ties: the first); "" when `known` is empty.
std::string nearest_name(const std::string& given, const std::vector<std::string>& known);

// Shared definitions: the same parameter means the same thing in every command.
namespace param {
// Common to every command.
ParamDef json();
ParamDef threads();
ParamDef seed();
ParamDef force();
ParamDef time_limit();  // minutes, default 10
ParamDef journal();
ParamDef resume();
ParamDef mpi();
ParamDef semantics();  // default exact
// Sizes.  N is always the number of tokens; n is always the size of a communication problem
// (DISJ_n, INDEX_n, EQ_n, IP_n), so the two never stand for each other.
ParamDef N();  // tokens
ParamDef q();  // subset / hint-set size
ParamDef d();  // value width d'
ParamDef M();  // modulus
ParamDef m();  // embedding width
ParamDef mk();
ParamDef eps();
ParamDef c();  // temperature
ParamDef strategy();
ParamDef input();
// Output format of a table-printing command (md | csv | latex | json); excludes --json.
ParamDef format();
// min-p: the number family scanned and the rounding mode.
ParamDef number_format();
ParamDef mode();
ParamDef p_min();
ParamDef p_max();
ParamDef file(const std::string& flag, const std::string& help);
// An on/off switch.
ParamDef flag(const std::string& flag, const std::string& help);
// An integer in the range a configuration declares.
ParamDef integer(const std::string& flag, FieldLimits limits, long long def, const std::string& help);
}  // namespace param

}  // namespace attnbounds
