#include "params.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <tuple>
#include <iostream>
#include <stdexcept>

#include "certify/min_precision.hpp"
#include "checks/usage_error.hpp"
#include "model/qsa_embedding.hpp"
#include "numeric/rational.hpp"
#include "enumerate/mpi_shard.hpp"

namespace attnbounds {

// ---- row adjustments ----------------------------------------------------------------------------

ParamDef ParamDef::with_default(const std::string& v) const {
  ParamDef d = *this;
  d.default_value = v;
  d.computed_default.clear();
  return d;
}
ParamDef ParamDef::with_default(long long v) const { return with_default(std::to_string(v)); }
ParamDef ParamDef::with_computed_default(const std::string& words) const {
  ParamDef d = *this;
  d.default_value.clear();
  d.computed_default = words;
  return d;
}
ParamDef ParamDef::with_range(long long lo_, long long hi_) const {
  ParamDef d = *this;
  d.lo = lo_;
  d.hi = hi_;
  return d;
}
ParamDef ParamDef::with_help(const std::string& h) const {
  ParamDef d = *this;
  d.help = h;
  return d;
}
ParamDef ParamDef::with_choices(std::vector<std::string> c, const std::string& def) const {
  ParamDef d = *this;
  d.choices = std::move(c);
  d.default_value = def;
  return d;
}
ParamDef ParamDef::with_flag(const std::string& f) const {
  ParamDef d = *this;
  d.flag = f;
  return d;
}
ParamDef ParamDef::with_field(const std::string& f) const {
  ParamDef d = *this;
  d.field = f;
  return d;
}
ParamDef ParamDef::with_alias(const std::string& a) const {
  ParamDef d = *this;
  d.aliases.push_back(a);
  return d;
}
ParamDef ParamDef::with_deprecated(const std::string& a) const {
  ParamDef d = *this;
  d.deprecated.push_back(a);
  return d;
}
ParamDef ParamDef::at_most(const std::string& other_flag) const {
  ParamDef d = *this;
  d.hi_flag = other_flag;
  return d;
}
ParamDef ParamDef::with_range_note(const std::string& words) const {
  ParamDef d = *this;
  d.range_note = words;
  return d;
}
ParamDef ParamDef::at_least(const std::string& other_flag) const {
  ParamDef d = *this;
  d.lo_flag = other_flag;
  return d;
}
ParamDef ParamDef::as_required() const {
  ParamDef d = *this;
  d.required = true;
  return d;
}
ParamDef ParamDef::excluding(const std::string& other) const {
  ParamDef d = *this;
  d.excludes.push_back(other);
  return d;
}

std::string ParamDef::field_name() const {
  if (!field.empty()) return field;
  std::string f = flag.rfind("--", 0) == 0 ? flag.substr(2) : flag;
  std::replace(f.begin(), f.end(), '-', '_');
  return f;
}

std::string ParamDef::allowed() const {
  switch (kind) {
    case ParamKind::Int:
      if (!range_note.empty()) return range_note;
      return fmt::format("{}..{}", lo_flag.empty() ? std::to_string(lo) : lo_flag.substr(2),
                         hi_flag.empty() ? std::to_string(hi) : hi_flag.substr(2));
    case ParamKind::IntList:
      return fmt::format("{}..{}", lo, hi);
    case ParamKind::UInt64:
      return hi > 0 ? fmt::format("{}..{}", lo, hi) : "0..2^64-1";
    case ParamKind::Choice: {
      std::string s;
      for (const auto& c : choices) s += (s.empty() ? "" : "|") + c;
      return s;
    }
    case ParamKind::Rational:
      return rational == RationalRange::OpenUnit ? "(0, 1)" : rational == RationalRange::Positive ? "> 0" : "";
    default:
      return "";
  }
}

std::string ParamDef::shown_default() const { return computed_default.empty() ? default_value : computed_default; }

std::string ParamDef::help_text() const {
  std::string out = help;
  const std::string a = allowed();
  if (!a.empty() && kind != ParamKind::Flag) out += " [allowed: " + a + (kind == ParamKind::IntList ? ", comma-separated" : "") + "]";
  const std::string shown = shown_default();
  if (!shown.empty() && kind != ParamKind::Flag) out += " [default: " + shown + "]";
  if (required) out += " [required]";
  return out;
}

namespace {
const char* kind_label(const ParamDef& d) {
  switch (d.kind) {
    case ParamKind::Int: return "INT";
    case ParamKind::UInt64: return "UINT64";
    case ParamKind::Choice: return "CHOICE";
    case ParamKind::Rational: return "RATIONAL";
    case ParamKind::IntList: return "LIST";
    case ParamKind::Real: return "NUMBER";
    case ParamKind::TextList: return "NAMES";
    default: return "TEXT";
  }
}
}  // namespace

// ---- validators ---------------------------------------------------------------------------------

namespace {

// A plain decimal integer (optional minus sign), or nothing.
std::optional<long long> decimal_integer(const std::string& text) {
  long long v = 0;
  const char* b = text.data();
  const char* e = b + text.size();
  if (text.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(b, e, v);
  if (ec != std::errc() || p != e) return std::nullopt;
  return v;
}

std::string check_int(const ParamDef& d, const std::string& text) {
  auto v = decimal_integer(text);
  // A bound given by another row is checked once every value is in; here only the syntax.
  if (!d.lo_flag.empty() || !d.hi_flag.empty()) {
    if (!v || *v < -2147483647LL || *v > 2147483647LL)
      return fmt::format("must be an integer in {} (got {})", d.allowed(), text);
    return "";
  }
  if (!v || *v < d.lo || *v > d.hi)
    return d.range_note.empty() ? fmt::format("must be an integer in {}..{} (got {})", d.lo, d.hi, text)
                                : fmt::format("must be an integer in {} (got {})", d.range_note, text);
  return "";
}

std::string check_uint64(const std::string& text) {
  const std::string max = "18446744073709551615";
  const bool ok = !text.empty() && text.size() <= max.size() && text.find_first_not_of("0123456789") == std::string::npos &&
                  (text.size() < max.size() || text <= max);
  return ok ? "" : "must be a decimal integer in 0..2^64-1 (got " + text + ")";
}

std::string check_choice(const ParamDef& d, const std::string& text) {
  if (std::find(d.choices.begin(), d.choices.end(), text) != d.choices.end()) return "";
  std::string list;
  for (std::size_t i = 0; i < d.choices.size(); ++i)
    list += (i == 0 ? "" : i + 1 == d.choices.size() ? " or " : ", ") + d.choices[i];
  return "must be " + list + " (got '" + text + "')";
}

std::string check_rational(const ParamDef& d, const std::string& text) {
  Rational v;
  try {
    v = parse_rational(text);
  } catch (const std::exception& e) {
    return std::string(e.what()) + "; expected a number such as 0.1, 2/3 or 1e-3";
  }
  if (d.rational == RationalRange::OpenUnit && !(v > 0 && v < 1)) return "must be in (0, 1) (got " + text + ")";
  if (d.rational == RationalRange::Positive && !(v > 0)) return "must be > 0 (got " + text + ")";
  return "";
}

std::string check_int_list(const ParamDef& d, const std::string& text) {
  const std::string expected = fmt::format("expected a comma-separated list of integers in {}..{} (got '{}')", d.lo, d.hi, text);
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    auto v = decimal_integer(item);
    if (!v || *v < d.lo || *v > d.hi) return expected;
    if (comma == std::string::npos) return "";
    start = comma + 1;
  }
}

std::string check_value(const ParamDef& d, const std::string& text) {
  switch (d.kind) {
    case ParamKind::Int: return check_int(d, text);
    case ParamKind::UInt64: {
      const std::string bad = check_uint64(text);
      if (!bad.empty() || d.hi == 0) return bad;
      const unsigned long long v = std::stoull(text);
      if (v < static_cast<unsigned long long>(d.lo) || v > static_cast<unsigned long long>(d.hi))
        return fmt::format("must be an integer in {}..{} (got {})", d.lo, d.hi, text);
      return "";
    }
    case ParamKind::Choice: return check_choice(d, text);
    case ParamKind::Rational: return check_rational(d, text);
    case ParamKind::IntList: return check_int_list(d, text);
    default: return d.value_hint == "FILE" && text.empty() ? "needs a file name (got \"\")" : "";
  }
}

const ParamTable* g_active = nullptr;
std::map<CLI::App*, std::vector<std::function<void()>>> g_after_parse;

void write_default(const ParamDef& d, const ParamTarget& target) {
  if (d.default_value.empty()) return;
  std::visit(
      [&](auto* p) {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, std::string>) *p = d.default_value;
        else if constexpr (std::is_same_v<T, bool>) *p = d.default_value == "true";
        else if constexpr (std::is_same_v<T, int>) *p = static_cast<int>(std::stoll(d.default_value));
        else if constexpr (std::is_same_v<T, double>) *p = std::stod(d.default_value);
        else if constexpr (std::is_same_v<T, std::vector<std::string>>) *p = {d.default_value};
        else *p = std::stoull(d.default_value);
      },
      target);
}

CLI::Option* add_one(CLI::App& app, const std::string& names, const ParamDef& d, const ParamTarget& target,
                     const std::string& help) {
  return std::visit(
      [&](auto* p) -> CLI::Option* {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, bool>) return app.add_flag(names, *p, help);
        else if constexpr (std::is_same_v<T, std::vector<std::string>>) return app.add_option(names, *p, help)->delimiter(',');
        else return app.add_option(names, *p, help);
      },
      target);
}

}  // namespace

void after_parse(CLI::App& app, std::function<void()> action) { g_after_parse[&app].push_back(std::move(action)); }
void clear_after_parse_actions() { g_after_parse.clear(); }

// ---- binding ------------------------------------------------------------------------------------

bool GivenParams::given(const std::string& flag) const {
  bool any = false;
  for (auto it = options_.lower_bound(flag); it != options_.end() && it->first.rfind(flag, 0) == 0; ++it)
    if (it->first == flag || it->first.rfind(flag + " ", 0) == 0) any = any || it->second->count() > 0;
  return any;
}

GivenParams bind_params(CLI::App& app, const ParamTable& table, const std::vector<ParamBinding>& bindings) {
  for (const auto& b : bindings)
    if (std::none_of(table.begin(), table.end(), [&](const ParamDef& d) { return d.flag == b.flag; }))
      throw std::logic_error("bind_params: " + b.flag + " has no row in the parameter table");
  GivenParams given;
  for (const ParamDef& d : table) {
    auto it = std::find_if(bindings.begin(), bindings.end(), [&](const ParamBinding& b) { return b.flag == d.flag; });
    if (it == bindings.end()) throw std::logic_error("bind_params: table row " + d.flag + " has no target");
    const bool is_flag = std::holds_alternative<bool*>(it->target);
    if (is_flag != (d.kind == ParamKind::Flag)) throw std::logic_error("bind_params: " + d.flag + ": kind and target disagree");
    write_default(d, it->target);
    std::string names = d.flag;
    for (const auto& a : d.aliases) names += "," + a;
    CLI::Option* opt = add_one(app, names, d, it->target, d.help_text());
    if (!is_flag) {
      opt->type_name(d.value_hint.empty() ? kind_label(d) : d.value_hint);
      const ParamDef row = d;
      opt->check(CLI::Validator([row](std::string& text) { return check_value(row, text); }, "", "range"));
    }
    if (d.required) opt->required();
    given.add(d.flag, opt);
    for (const auto& old : d.deprecated) {
      CLI::Option* dep = add_one(app, old, d, it->target, "deprecated spelling of " + d.flag);
      const std::string flag = d.flag;
      if (!is_flag) {
        const ParamDef row = d;
        dep->check(CLI::Validator([row](std::string& text) { return check_value(row, text); }, "", "range"));
      }
      dep->group("Deprecated spellings");
      dep->each([old, flag](const std::string&) {
        std::cerr << "attnbounds: warning: " << old << " is deprecated here; use " << flag << "\n";
      });
      given.add(d.flag + " " + old, dep);
    }
  }
  for (const ParamDef& d : table)
    for (const auto& other : d.excludes) app.get_option(d.flag)->excludes(other);
  // Bounds given by another row (q <= N, p_max >= p_min), once every value is in.
  std::vector<std::tuple<ParamDef, int*, int*, int*>> dependent;
  auto int_target = [&](const std::string& flag) -> int* {
    for (const auto& b : bindings)
      if (b.flag == flag && std::holds_alternative<int*>(b.target)) return std::get<int*>(b.target);
    throw std::logic_error("bind_params: bound " + flag + " is not an integer row");
  };
  for (const ParamDef& d : table)
    if (!d.lo_flag.empty() || !d.hi_flag.empty())
      dependent.emplace_back(d, int_target(d.flag), d.lo_flag.empty() ? nullptr : int_target(d.lo_flag),
                             d.hi_flag.empty() ? nullptr : int_target(d.hi_flag));
  CLI::App* at = &app;
  app.parse_complete_callback([dependent, at] {
    for (const auto& [d, v, lo, hi] : dependent) {
      const long long l = lo ? *lo : d.lo, h = hi ? *hi : d.hi;
      if (*v < l || *v > h)
        throw UsageError(d.flag, fmt::format("must be in {}..{} = {}..{} (got {})", lo ? d.lo_flag.substr(2) : std::to_string(l),
                                             hi ? d.hi_flag.substr(2) : std::to_string(h), l, h, *v));
    }
    auto it = g_after_parse.find(at);
    if (it != g_after_parse.end())
      for (const auto& action : it->second) action();
  });
  const ParamTable* t = &table;
  app.preparse_callback([t](std::size_t) { g_active = t; });
  return given;
}

std::string params_column(const ParamTable& table) {
  std::string out;
  for (const ParamDef& d : table) {
    std::string item = d.flag;
    if (d.kind == ParamKind::Choice) item += " " + d.allowed();
    else if (!d.value_hint.empty()) item += " " + d.value_hint;
    else if (d.kind == ParamKind::Int || d.kind == ParamKind::IntList) item += " " + d.allowed();
    out += (out.empty() ? "" : " ") + item;
  }
  return out;
}

const ParamTable* active_param_table() { return g_active; }

std::string flag_for_field(const std::string& field) {
  if (!g_active) return "";
  for (const ParamDef& d : *g_active)
    if (d.field_name() == field) return d.flag;
  return "";
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string nearest_name(const std::string& given, const std::vector<std::string>& known) {
  std::string best;
  std::size_t best_d = SIZE_MAX;
  for (const auto& k : known) {
    const std::size_t d = edit_distance(given, k);
    if (d < best_d) {
      best_d = d;
      best = k;
    }
  }
  return best;
}

// ---- shared definitions -------------------------------------------------------------------------

namespace param {

namespace {
ParamDef row(const std::string& flag, ParamKind kind, const std::string& help) {
  ParamDef d;
  d.flag = flag;
  d.kind = kind;
  d.help = help;
  return d;
}
ParamDef int_row(const std::string& flag, long long lo, long long hi, long long def, const std::string& help) {
  ParamDef d = row(flag, ParamKind::Int, help);
  d.lo = lo;
  d.hi = hi;
  d.default_value = std::to_string(def);
  return d;
}
}  // namespace

ParamDef json() { return row("--json", ParamKind::Flag, "print one JSON object on stdout"); }
ParamDef flag(const std::string& flag, const std::string& help) { return row(flag, ParamKind::Flag, help); }
ParamDef integer(const std::string& flag, FieldLimits limits, long long def, const std::string& help) {
  return int_row(flag, limits.lo, limits.hi, def, help);
}
ParamDef threads() {
  return int_row("--threads", 0, 1024, 0,
                 "worker threads (0 = every CPU the process may use, see taskset); results do not depend on it");
}
ParamDef seed() {
  ParamDef d = row("--seed", ParamKind::UInt64, "seed for every random choice");
  d.default_value = "1";
  return d;
}
ParamDef force() {
  return row("--force", ParamKind::Flag, "run enumerations above the size guard or the --time-limit estimate");
}
ParamDef time_limit() {
  ParamDef d = row("--time-limit", ParamKind::Rational,
                   "minutes a run may take by the estimate timed on its first chunks; above it the run is refused "
                   "(exit 2) unless --force");
  d.rational = RationalRange::Positive;
  d.default_value = "10";
  d.value_hint = "MIN";
  return d;
}
ParamDef journal() {
  ParamDef d = file("--journal", "checkpoint file: finished chunks are appended; an existing journal of the same run is continued; "
                                 "under --mpi each rank r of K keeps FILE.rank-r-of-K");
  return d;
}
ParamDef resume() {
  return file("--resume", "continue the run recorded in this journal (it must exist and match; under --mpi, by as many ranks)");
}
ParamDef mpi() {
  return row("--mpi", ParamKind::Flag,
             "shard the chunks over the ranks of mpirun -np K (same result for any K); " +
                 std::string(mpi_available() ? "this build has MPI" : "off: this build has no MPI"));
}
ParamDef semantics() {
  ParamDef d = row("--semantics", ParamKind::Text,
                   "exact | embed:<fmt> | arith:<fmt> | tiled:<fmt>:<T>; <fmt> = float:P, fixed:I.F, bf16, fp16, fp32, fp64");
  d.default_value = "exact";
  d.value_hint = "SEMANTICS";
  return d;
}
// The shared rows take the qSA constructions' limits (QsaEmbeddingParams); other commands narrow
// them with their own configuration's limits.
ParamDef N() { return int_row("--N", QsaEmbeddingParams::kN.lo, QsaEmbeddingParams::kN.hi, 16, "number of tokens"); }
ParamDef q() { return int_row("--q", 1, QsaEmbeddingParams::kN.hi, 2, "subset size q"); }
ParamDef d() { return int_row("--d", QsaEmbeddingParams::kD.lo, QsaEmbeddingParams::kD.hi, 1, "value width d'"); }
ParamDef M() { return int_row("--M", 2, 1 << 30, 16, "modulus (token values in 0..M-1)"); }
ParamDef m() { return int_row("--m", 1, 64, 1, "embedding width of the model under test"); }
ParamDef mk() { return int_row("--mk", 0, QsaEmbeddingParams::kMk.hi, 0, "key width m' (0 = default ceil(2 q log2 N) + 8)"); }
ParamDef eps() {
  ParamDef d = row("--eps", ParamKind::Rational, "accuracy epsilon in (0,1), exact decimal or p/q");
  d.rational = RationalRange::OpenUnit;
  d.default_value = "0.1";
  return d;
}
ParamDef c() { return row("--c", ParamKind::Rational, "temperature override (exact decimal or p/q)"); }
ParamDef strategy() { return row("--strategy", ParamKind::Choice, "certificate search").with_choices({"lp", "least-norm"}, "lp"); }
ParamDef input() {
  ParamDef d = row("--input", ParamKind::Text, "input file");
  d.value_hint = "FILE";
  return d;
}
ParamDef format() {
  return row("--format", ParamKind::Choice, "output format of the table (--json gives the JSON result)")
      .with_choices({"md", "csv", "latex", "json"}, "md")
      .excluding("--json");
}
ParamDef number_format() {
  return row("--number-format", ParamKind::Choice, "number family scanned: float:P or fixed:I.F (P = F + I)")
      .with_choices({"float", "fixed"}, "float")
      .with_deprecated("--format");
}
ParamDef mode() {
  return row("--mode", ParamKind::Choice, "embed (entries rounded) | arith (every operation rounded)")
      .with_choices({"embed", "arith"}, "embed");
}
ParamDef p_min() {
  return int_row("--p-min", MinPrecisionConfig::kP.lo, MinPrecisionConfig::kP.hi, 2, "smallest p tested");
}
ParamDef p_max() {
  return int_row("--p-max", MinPrecisionConfig::kP.lo, MinPrecisionConfig::kP.hi, 64, "largest p tested (p_max of math §2)");
}
ParamDef file(const std::string& flag, const std::string& help) {
  ParamDef d = row(flag, ParamKind::Text, help);
  d.value_hint = "FILE";
  return d;
}

}  // namespace param

}  // namespace attnbounds
