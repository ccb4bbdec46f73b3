// attnbounds: certified checks of the theorems of Sanford, Hsu and Telgarsky (NeurIPS 2023).
// Exit status: 0 holds / ok, 1 fails (verified counterexample), 2 bad input, 3 undecided,
// 4 internal error (a bug: please report it).
#include <CLI/CLI.hpp>

#include <iostream>
#include <map>

#include "cli/errors.hpp"
#include "cli/registry.hpp"
#include "numeric/format.hpp"

using namespace attnbounds;

namespace {

struct VerbInfo {
  const char* name;
  const char* help;
  bool nested;  // takes a claim / reduction / function name
};

const VerbInfo kVerbs[] = {
    {"list", "list every claim, construction and reduction with its theorem and provenance", false},
    {"check", "run a claim's exhaustive certified checker", true},
    {"eval", "forward pass of a construction on one input, with the ground truth", true},
    {"lower", "run a lower-bound reduction: correctness, protocol, message count, counterexample", true},
    {"cc", "exact communication complexity of disj, eq, index, ip or a matrix file", true},
    {"min-p", "minimal precision p* for a claim", true},
    {"min-m", "minimal embedding width m* for a claim", true},
    {"replay", "re-check a certificate file independently, in exact arithmetic", false},
    {"reproduce", "the main job: every theorem at default sizes, with report, tables and plots", false},
    {"regress", "compare verdicts, p* and m* with the stored baselines", false},
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"attnbounds — certified checks of attention upper and lower bounds\n"
               "(Sanford, Hsu, Telgarsky: Representational Strengths and Limitations of Transformers, NeurIPS 2023)\n"
               "Exit status: 0 holds/ok, 1 fails with a verified counterexample, 2 bad input, 3 undecided."};
  app.set_version_flag("--version", std::string("attnbounds ") + ATTNBOUNDS_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);

  std::map<std::string, CLI::App*> verbs;
  for (const auto& v : kVerbs) {
    CLI::App* sub = app.add_subcommand(v.name, v.help);
    if (v.nested) sub->require_subcommand(1);
    verbs[v.name] = sub;
  }
  for (const auto& entry : registry()) {
    auto it = verbs.find(entry.verb);
    if (it == verbs.end() || !entry.attach) continue;
    entry.attach(*it->second);
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string msg = e.what();
    if (msg.empty()) msg = e.get_name();
    for (auto& ch : msg)
      if (ch == '\n') ch = ' ';
    std::cerr << "attnbounds: error: " << msg << " (see --help)\n";
    return 2;
  } catch (const UsageError& e) {
    std::cerr << "attnbounds: error: " << e.what() << '\n';
    return 2;
  } catch (const FormatRangeError& e) {
    std::cerr << "attnbounds: error: " << e.what() << '\n';
    return 2;
  } catch (const std::invalid_argument& e) {
    std::cerr << "attnbounds: error: " << e.what() << '\n';
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "attnbounds: internal error: " << e.what() << " (please report)\n";
    return 4;
  }
  return exit_status();
}
