// `attnbounds reproduce`: run a manifest of CLI commands and write the report, tables, plots,
// results.json and timings.json (src/report/reproduce.hpp; format in docs/reproduce.md).
#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "checks/common.hpp"
#include "reproduce_commands.hpp"
#include "files.hpp"
#include "reproduce.hpp"
#include "subprocess.hpp"

namespace attnbounds {
namespace {

struct ReproduceCli {
  std::string manifest;
  std::string out = "out";
  std::vector<std::string> only;
  double timeout = 0;
  std::string gnuplot = "gnuplot";
  std::string program;
  bool list = false;
  bool print_manifest = false;
  bool quiet = false;
  bool json = false;
  bool allow_programs = false;
  bool resume = false;
};

void run_reproduce_command(const ReproduceCli& cli) {
  std::string text, label = "default";
  if (cli.manifest.empty()) {
    text = default_manifest_text();
  } else {
    try {
      text = read_text_file(cli.manifest);
    } catch (const std::exception&) {
      throw UsageError("--manifest", "cannot read '" + cli.manifest + "'");
    }
    label = cli.manifest;
  }
  if (cli.print_manifest) {
    std::cout << text;
    if (!text.empty() && text.back() != '\n') std::cout << '\n';
    return;
  }
  Manifest manifest = parse_manifest_text(text, label);
  // An --only name that selects nothing is a mistake, not an empty report.
  for (const auto& name : cli.only)
    if (std::none_of(manifest.runs.begin(), manifest.runs.end(),
                     [&](const RunSpec& r) { return r.id.find(name) != std::string::npos; }))
      throw UsageError("--only", "no run id contains '" + name + "' in the manifest " + label + " (see --list)");
  // A manifest runs attnbounds itself; only the person at the command line may choose otherwise.
  if (!cli.allow_programs)
    for (const auto& r : manifest.runs)
      if (!r.program.empty())
        throw UsageError("--manifest", "run '" + r.id + "' names the program '" + r.program +
                                           "': a manifest runs only attnbounds itself (--allow-programs permits it)");
  // A run's relative "program" path is relative to the manifest file.
  if (!cli.manifest.empty())
    for (auto& r : manifest.runs)
      if (r.program.find('/') != std::string::npos && std::filesystem::path(r.program).is_relative())
        r.program = (std::filesystem::path(cli.manifest).parent_path() / r.program).string();
  // --program: run the manifest against another executable (another attnbounds build, or a
  // stand-in in tests); runs that name their own program keep it.
  if (!cli.program.empty())
    for (auto& r : manifest.runs)
      if (r.program.empty()) r.program = cli.program;
  // Runs execute in the output directory: make program paths absolute first.
  for (auto& r : manifest.runs)
    if (r.program.find('/') != std::string::npos && std::filesystem::path(r.program).is_relative())
      r.program = std::filesystem::absolute(r.program).string();
  if (cli.list) {
    for (const auto& r : manifest.runs)
      std::cout << fmt::format("{:<32} {:<22} {}\n", r.id, r.theorem,
                               shell_join([&] {
                                 std::vector<std::string> argv = {r.program.empty() ? "attnbounds" : r.program};
                                 argv.insert(argv.end(), r.args.begin(), r.args.end());
                                 return argv;
                               }()));
    return;
  }
  if (cli.out.empty()) throw UsageError("--out", "must name a directory");
  {
    std::error_code ec;
    auto st = std::filesystem::symlink_status(cli.out, ec);
    if (std::filesystem::exists(st) && !std::filesystem::is_directory(std::filesystem::status(cli.out, ec)))
      throw UsageError("--out", "'" + cli.out + "' exists and is not a directory");
  }
  if (!(cli.timeout >= 0)) throw UsageError("--timeout", "must be >= 0 seconds (0 = the manifest's limits)");

  ReproduceOptions opts;
  opts.out = cli.out;
  opts.manifest_label = label;
  opts.only = cli.only;
  opts.timeout_seconds = cli.timeout;
  opts.gnuplot = cli.gnuplot == "none" ? std::string() : cli.gnuplot;
  opts.progress = !cli.quiet;
  opts.resume = cli.resume;
  std::vector<std::string> inv = {"attnbounds", "reproduce"};
  if (!cli.manifest.empty()) inv.insert(inv.end(), {"--manifest", cli.manifest});
  if (!cli.only.empty()) {
    std::string only;
    for (const auto& o : cli.only) only += (only.empty() ? "" : ",") + o;
    inv.insert(inv.end(), {"--only", only});
  }
  // The output directory is left as a placeholder so that reports written to different
  // directories are byte-identical.
  opts.invocation = shell_join(inv) + " --out DIR";

  json summary;
  int status = run_reproduce(manifest, opts, &summary);
  auto report = (std::filesystem::path(cli.out) / "report.md").string();
  if (cli.json) {
    std::cout << json{{"tool", "attnbounds"}, {"version", ATTNBOUNDS_VERSION}, {"command", "reproduce"},
                      {"out", cli.out}, {"report", report}, {"summary", summary}}
                     .dump(2)
              << '\n';
  } else {
    std::cout << "report: " << report << '\n';
  }
  set_exit_status(status);
}

ParamDef flag_row(const std::string& flag, const std::string& help) {
  ParamDef d;
  d.flag = flag;
  d.kind = ParamKind::Flag;
  d.help = help;
  return d;
}

ParamTable reproduce_params() {
  ParamDef only, timeout, gnuplot, program;
  only.flag = "--only";
  only.kind = ParamKind::TextList;
  only.help = "run only the runs whose id contains one of these strings (each must match a run)";
  timeout.flag = "--timeout";
  timeout.kind = ParamKind::Real;
  timeout.help = "per-run time limit in seconds, >= 0 (0 = the manifest's)";
  timeout.default_value = "0";
  gnuplot.flag = "--gnuplot";
  gnuplot.help = "gnuplot program used to render plots ('none' = scripts only)";
  gnuplot.default_value = "gnuplot";
  gnuplot.value_hint = "PROGRAM";
  program.flag = "--program";
  program.help = "run the commands with this executable instead of this attnbounds binary";
  program.value_hint = "PROGRAM";
  return {param::file("--manifest", "manifest JSON file").with_computed_default("the built-in manifests/default.json"),
          param::file("--out", "output directory").with_default("out"),
          only, timeout, gnuplot, program,
          flag_row("--allow-programs", "let manifest runs name their own program (tests use a stand-in script)"),
          flag_row("--resume", "continue an interrupted reproduce in --out: reuse the runs its journal records (unchanged ones only), redo the rest"),
          flag_row("--list", "list the manifest's runs and exit"),
          flag_row("--print-manifest", "print the manifest (the built-in one unless --manifest) and exit"),
          flag_row("--quiet", "no progress lines on stderr"), param::json().with_help("print a JSON summary on stdout")};
}
const ParamTable kReproduceParams = reproduce_params();

const DeclaredEntry reg{{"reproduce", "", "", "", "run a manifest of checks and write report, tables and plots",
                     "",
                     [](CLI::App& app) {
                       app.footer("Exit status: 0 every run produced its expected result; 1 a result contradicts the manifest's\n"
                                  "expectation; 3 some run produced no result (not available, error, timeout); 2 bad manifest,\n"
                                  "or --out is in use by another reproduce or holds an interrupted one (use --resume).\n"
                                  "SIGINT/SIGTERM: the running command is killed, no report is written, the journal keeps\n"
                                  "the finished runs.\n"
                                  "Formats: docs/reproduce.md");
                       auto cli = std::make_shared<ReproduceCli>();
                       bind_params(app, kReproduceParams,
                                   {{"--manifest", &cli->manifest}, {"--out", &cli->out}, {"--only", &cli->only},
                                    {"--timeout", &cli->timeout}, {"--gnuplot", &cli->gnuplot}, {"--program", &cli->program},
                                    {"--allow-programs", &cli->allow_programs}, {"--resume", &cli->resume}, {"--list", &cli->list},
                                    {"--print-manifest", &cli->print_manifest}, {"--quiet", &cli->quiet}, {"--json", &cli->json}});
                       app.callback([cli] { run_reproduce_command(*cli); });
                     }, &kReproduceParams}};

}  // namespace

void register_reproduce_command() {
  register_entry(reg.entry);
}

}  // namespace attnbounds

namespace attnbounds {

void register_reproduce_commands() {
  static bool done = false;
  if (done) return;
  done = true;
  register_reproduce_command();
  register_regress_command();
}

}  // namespace attnbounds
