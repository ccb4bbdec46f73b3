// `attnbounds reproduce`: run a manifest of CLI commands and write the report, tables, plots,
// results.json and timings.json (src/report/reproduce.hpp; format in docs/reproduce.md).
#include <fmt/format.h>

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

  int status = run_reproduce(manifest, opts);
  auto report = (std::filesystem::path(cli.out) / "report.md").string();
  if (cli.json) {
    json summary = json::parse(read_text_file(std::filesystem::path(cli.out) / "results.json"))["summary"];
    std::cout << json{{"tool", "attnbounds"}, {"version", ATTNBOUNDS_VERSION}, {"command", "reproduce"},
                      {"out", cli.out}, {"report", report}, {"summary", summary}}
                     .dump(2)
              << '\n';
  } else {
    std::cout << "report: " << report << '\n';
  }
  set_exit_status(status);
}

const DeclaredEntry reg{{"reproduce", "", "", "", "run a manifest of checks and write report, tables and plots",
                     "--manifest --out --only --timeout --gnuplot --program --allow-programs --list --print-manifest --quiet --json",
                     [](CLI::App& app) {
                       app.footer("Exit status: 0 every run produced its expected result; 1 a result contradicts the manifest's\n"
                                  "expectation; 3 some run produced no result (not available, error, timeout); 2 bad manifest.\n"
                                  "Formats: docs/reproduce.md");
                       auto cli = std::make_shared<ReproduceCli>();
                       app.add_option("--manifest", cli->manifest,
                                      "manifest JSON file (default: the built-in manifests/default.json)");
                       app.add_option("--out", cli->out, "output directory")->capture_default_str();
                       app.add_option("--only", cli->only, "run only the runs whose id contains one of these strings")
                           ->delimiter(',');
                       app.add_option("--timeout", cli->timeout, "per-run time limit in seconds (0 = the manifest's)");
                       app.add_option("--gnuplot", cli->gnuplot, "gnuplot program used to render plots ('none' = scripts only)")
                           ->capture_default_str();
                       app.add_option("--program", cli->program,
                                      "run the commands with this executable instead of this attnbounds binary");
                       app.add_flag("--allow-programs", cli->allow_programs,
                                    "let manifest runs name their own program (tests use a stand-in script)");
                       app.add_flag("--list", cli->list, "list the manifest's runs and exit");
                       app.add_flag("--print-manifest", cli->print_manifest,
                                    "print the manifest (the built-in one unless --manifest) and exit");
                       app.add_flag("--quiet", cli->quiet, "no progress lines on stderr");
                       app.add_flag("--json", cli->json, "print a JSON summary on stdout");
                       app.callback([cli] { run_reproduce_command(*cli); });
                     }}};

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
