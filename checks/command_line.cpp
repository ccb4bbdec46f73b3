#include "command_line.hpp"

#include <CLI/CLI.hpp>

#include <iostream>
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "checks/usage_error.hpp"
#include "cmd_match_model.hpp"
#include "common.hpp"
#include "core/atomic_file.hpp"
#include "registry.hpp"
#include "numeric/format.hpp"

namespace attnbounds {

namespace {

std::string join_names(const std::vector<std::string>& names) {
  if (names.empty()) return "(none registered in this build)";
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::vector<std::string> child_names(CLI::App& verb) {
  std::vector<std::string> names;
  for (CLI::App* sub : verb.get_subcommands([](CLI::App*) { return true; })) names.push_back(sub->get_name());
  return names;
}

bool is_help_or_version(const std::string& arg) { return arg == "-h" || arg == "--help" || arg == "--version"; }

// CLI11 answers a misspelt subcommand with "A subcommand is required".  Check the names first so
// the message says what was given and what is allowed.  Help and version requests pass through.
void check_subcommand_names(int argc, char** argv, const std::map<std::string, CLI::App*>& verbs,
                            const std::vector<std::string>& verb_names) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::size_t i = 0;
  for (; i < args.size() && !args[i].empty() && args[i][0] == '-'; ++i)
    if (is_help_or_version(args[i])) return;
  if (i == args.size())
    throw UsageError("subcommand", "missing; one of: " + join_names(verb_names));
  if (i > 0) return;  // an unknown leading option: CLI11 names it
  const std::string& verb = args[i];
  auto it = verbs.find(verb);
  if (it == verbs.end())
    throw UsageError("subcommand", "unknown subcommand '" + verb + "'; one of: " + join_names(verb_names));
  const VerbInfo* info = nullptr;
  for (const auto& v : registry_verbs())
    if (verb == v.name) info = &v;
  if (!info->nested) return;
  const std::string what = info->what;
  const auto children = child_names(*it->second);
  ++i;
  if (i < args.size() && is_help_or_version(args[i])) return;
  if (i == args.size() || args[i].empty() || args[i][0] == '-')
    throw UsageError(what, "'" + verb + "' needs a " + what + " name first; one of: " + join_names(children));
  if (std::find(children.begin(), children.end(), args[i]) == children.end())
    throw UsageError(what, "unknown " + what + " '" + args[i] + "' for '" + verb + "'; one of: " + join_names(children));
}

// CLI11 reads "0x10", "0b101" and "010" as 16, 5 and 8.  Numbers on this command line are
// decimal: such a token is refused rather than silently reinterpreted.
void refuse_non_decimal_integers(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string t = argv[i];
    std::size_t eq = t.rfind("--", 0) == 0 ? t.find('=') : std::string::npos;
    if (eq != std::string::npos) t = t.substr(eq + 1);
    std::size_t b = !t.empty() && (t[0] == '+' || t[0] == '-') ? 1 : 0;
    if (t.size() < b + 2 || t[b] != '0') continue;
    const char c = t[b + 1];
    const bool prefixed = (c == 'x' || c == 'X' || c == 'b' || c == 'B' || c == 'o' || c == 'O') &&
                          t.find_first_not_of("0123456789abcdefABCDEF", b + 2) == std::string::npos;
    const bool leading_zero = t.find_first_not_of("0123456789", b) == std::string::npos;
    if (prefixed || leading_zero)
      throw UsageError("argument", "'" + t + "' is not a plain decimal number (no hex, binary, octal or leading zeros)");
  }
}

// The deepest subcommand the parse reached.
CLI::App* deepest_parsed(CLI::App& app) {
  CLI::App* at = &app;
  while (true) {
    std::vector<CLI::App*> parsed = at->get_subcommands();
    if (parsed.empty()) return at;
    at = parsed.front();
  }
}

std::string command_path(CLI::App* app) {
  std::string path;
  for (CLI::App* a = app; a && a->get_parent(); a = a->get_parent()) path = a->get_name() + (path.empty() ? "" : " " + path);
  return path;
}

// "--NN: unknown option for 'check qsa-cyclic'; did you mean --N?" for the first unknown flag,
// or "" when the extra arguments are not flags.
std::string unknown_flag_message(CLI::App& app) {
  CLI::App* at = deepest_parsed(app);
  std::vector<std::string> known;
  for (const CLI::Option* opt : at->get_options())
    for (const auto& name : opt->get_lnames()) known.push_back("--" + name);
  for (std::string arg : at->remaining()) {
    if (arg.size() < 2 || arg[0] != '-') continue;
    const std::size_t eq = arg.find('=');
    if (eq != std::string::npos) arg = arg.substr(0, eq);
    const std::string nearest = nearest_name(arg, known);
    return arg + ": unknown option for '" + command_path(at) + "'" + (nearest.empty() ? "" : "; did you mean " + nearest + "?");
  }
  return "";
}

}  // namespace

ErrorReport describe_error(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const AgreedError& e) {
    return {e.status(), e.line()};
  } catch (const UsageError& e) {
    return {2, std::string("attnbounds: error: ") + e.what()};
  } catch (const ConfigError& e) {
    return {2, "attnbounds: error: " + flag_of_field(e.field()) + ": " + e.what()};
  } catch (const FormatRangeError& e) {
    // A value of the construction does not fit the chosen format: never clamped, refused.
    return {2, std::string("attnbounds: error: --semantics: ") + e.what() + "; " + e.hint()};
  } catch (const std::invalid_argument& e) {
    return {2, std::string("attnbounds: error: ") + e.what()};
  } catch (const OutputError& e) {
    // A full disk or a closed stdout: the result was not delivered, so the run did not succeed.
    return {2, std::string("attnbounds: error: ") + e.what()};
  } catch (const std::exception& e) {
    return {4, std::string("attnbounds: internal error: ") + e.what() + " (please report)"};
  } catch (...) {
    return {4, "attnbounds: internal error: an exception of unknown type (please report)"};
  }
}

int run_command_line(int argc, char** argv) {
  set_exit_status(0);  // a program may run the command line more than once (the Python module does)
  clear_after_parse_actions();
  CLI::App app{"attnbounds — certified checks of attention upper and lower bounds\n"
               "(Sanford, Hsu, Telgarsky: Representational Strengths and Limitations of Transformers, NeurIPS 2023)\n"
               "Exit status: 0 holds/ok, 1 fails with a verified counterexample, 2 bad input, 3 undecided."};
  app.set_version_flag("--version", std::string("attnbounds ") + ATTNBOUNDS_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);

  // A verb without a name (list, replay, reproduce, regress) exists only when a program
  // registered it; the nested verbs always exist and say when nothing is registered.
  std::map<std::string, CLI::App*> verbs;
  std::vector<std::string> verb_names;
  for (const auto& v : registry_verbs()) {
    const bool registered = std::any_of(registry().begin(), registry().end(),
                                        [&](const RegistryEntry& e) { return e.verb == v.name; });
    if (!v.nested && !registered) continue;
    CLI::App* sub = app.add_subcommand(v.name, v.help);
    if (v.nested) sub->require_subcommand(1);
    verbs[v.name] = sub;
    verb_names.push_back(v.name);
  }
  for (const auto& entry : registry())
    if (entry.attach) entry.attach(*verbs.at(entry.verb));

  struct EndRun {
    ~EndRun() { end_command_run(); }
  } end_run;  // closes the command's journal, whatever the outcome
  try {
    check_subcommand_names(argc, argv, verbs, verb_names);
    refuse_non_decimal_integers(argc, argv);
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ExtrasError& e) {
    std::string msg = unknown_flag_message(app);
    if (msg.empty()) msg = e.what();
    for (auto& ch : msg)
      if (ch == '\n') ch = ' ';
    std::cerr << "attnbounds: error: " << msg << " (see --help)\n";
    return 2;
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    if (msg.empty()) msg = e.get_name();
    for (auto& ch : msg)
      if (ch == '\n') ch = ' ';
    std::cerr << "attnbounds: error: " << msg << " (see --help)\n";
    return 2;
  } catch (const AgreedError& e) {
    // An error every MPI rank shares: rank 0 prints it, the others end with its status.
    if (!e.line().empty()) std::cerr << e.line() << '\n';
    return e.status();
  } catch (...) {
    const ErrorReport r = describe_error(std::current_exception());
    std::cerr << r.line << '\n';
    return r.status;
  }
  // Output that never reached its destination (a full disk, a closed stdout) is not a success.
  std::cout.flush();
  if (!std::cout) {
    std::cerr << "attnbounds: error: cannot write to standard output\n";
    return 2;
  }
  return exit_status();
}

}  // namespace attnbounds
