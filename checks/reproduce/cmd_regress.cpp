// `attnbounds regress`: compare whole normalised results with stored baselines.
#include <filesystem>

#include "checks/common.hpp"
#include "reproduce_commands.hpp"
#include "regress.hpp"

namespace attnbounds {
namespace {

struct RegressCli {
  std::string dir;
  bool update = false;
  std::vector<std::string> only;
  double timeout = 600;
  bool json = false;
};

// tests/baselines under the working directory: no source path is compiled into the binary, so an
// installed attnbounds behaves the same wherever it was built.
std::filesystem::path default_baselines_dir() { return "tests/baselines"; }

ParamTable regress_params() {
  ParamDef update, only, timeout;
  update.flag = "--update";
  update.kind = ParamKind::Flag;
  update.help = "replace the baselines by the current results (approval style; each file is written atomically)";
  only.flag = "--only";
  only.kind = ParamKind::TextList;
  only.help = "only baselines whose name contains one of these strings (each must match one)";
  timeout.flag = "--timeout";
  timeout.kind = ParamKind::Real;
  timeout.help = "per-baseline time limit in seconds, > 0";
  timeout.default_value = "600";
  return {param::file("--baselines", "directory of baseline JSON files").with_default("tests/baselines"), update, only, timeout,
          param::json()};
}
const ParamTable kRegressParams = regress_params();

const DeclaredEntry reg{{"regress", "", "", "", "compare whole normalised results with the stored regression baselines",
                     "", [](CLI::App& app) {
                       app.footer("A baseline that differs gets its new output written beside it as NAME.new.json.\n"
                                  "Exit status: 0 every baseline matches (or --update rewrote them); 1 some baseline differs;\n"
                                  "2 a malformed baseline file or an --only name that matches none.  Formats: docs/reproduce.md");
                       auto cli = std::make_shared<RegressCli>();
                       bind_params(app, kRegressParams,
                                   {{"--baselines", &cli->dir}, {"--update", &cli->update}, {"--only", &cli->only},
                                    {"--timeout", &cli->timeout}, {"--json", &cli->json}});
                       app.callback([cli] {
                         if (!(cli->timeout > 0)) throw UsageError("--timeout", "must be > 0 seconds");  // NaN too
                         RegressOptions o;
                         o.dir = cli->dir.empty() ? default_baselines_dir() : std::filesystem::path(cli->dir);
                         o.update = cli->update;
                         o.only = cli->only;
                         o.timeout_seconds = cli->timeout;
                         o.json = cli->json;
                         set_exit_status(run_regress(o));
                       });
                     }, &kRegressParams}};

}  // namespace

void register_regress_command() {
  register_entry(reg.entry);
}

}  // namespace attnbounds
