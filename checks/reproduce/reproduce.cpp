#include "reproduce.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <cmath>
#include <cstring>
#include <iostream>
#include <map>
#include <set>

#include "checks/usage_error.hpp"
#include "core/atomic_file.hpp"
#include "core/safe_path.hpp"
#include "numeric/rational.hpp"
#include "expr.hpp"
#include "files.hpp"
#include "checks/json_path.hpp"
#include "run_journal.hpp"
#include "subprocess.hpp"
#include "table_files.hpp"

namespace attnbounds {

namespace {

bool is_result_status(const std::string& s) { return s == "holds" || s == "fails" || s == "undecided" || s == "ok"; }

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// The first few lines of stderr, enough to say why a run failed.
std::string stderr_summary(const std::string& err) {
  std::string out;
  int lines = 0;
  std::size_t start = 0;
  while (start < err.size() && lines < 3) {
    std::size_t end = err.find('\n', start);
    if (end == std::string::npos) end = err.size();
    std::string line = trim(err.substr(start, end - start));
    if (!line.empty()) {
      out += (out.empty() ? "" : " / ") + line;
      ++lines;
    }
    start = end + 1;
  }
  return out.size() > 400 ? out.substr(0, 400) + "..." : out;
}

// CLI11's messages when the verb has no subcommands at all, or when the claim name itself is the
// unexpected argument: the claim is not built into this binary.  An unknown *option* of an
// existing claim is bad input, not "not available".
bool looks_unknown_subcommand(const std::string& err, const std::vector<std::string>& args) {
  if (err.find("A subcommand is required") != std::string::npos) return true;
  if (args.size() < 2) return false;
  for (const char* phrase : {"argument was not expected: ", "arguments were not expected: "}) {
    std::size_t at = err.find(phrase);
    if (at != std::string::npos && err.compare(at + std::strlen(phrase), args[1].size(), args[1]) == 0) return true;
  }
  return false;
}


}  // namespace

const std::vector<std::string>& volatile_keys() {
  static const std::vector<std::string> keys = {"seconds", "threads", "wall_seconds", "elapsed_seconds", "timings"};
  return keys;
}

bool RunOutcome::produced_result() const { return is_result_status(status); }

bool RunOutcome::as_expected() const {
  if (!spec || spec->expect.empty() || !produced_result()) return true;
  return std::find(spec->expect.begin(), spec->expect.end(), status) != spec->expect.end();
}

RunOutcome execute_run(const RunSpec& run, const std::string& self, double timeout_seconds,
                       const std::filesystem::path& cwd) {
  RunOutcome o;
  o.spec = &run;
  std::vector<std::string> args = run.args;
  if (run.append_json) args.push_back("--json");
  o.argv.push_back(run.program.empty() ? "attnbounds" : run.program);
  o.argv.insert(o.argv.end(), args.begin(), args.end());

  ProcessResult p = run_process(run.program.empty() ? self : run.program, args, timeout_seconds, cwd);
  o.wall_seconds = p.seconds;
  o.exit_status = p.exit_status;
  if (p.interrupted) {
    o.status = "interrupted";
    o.error = "interrupted by a signal to reproduce";
    return o;
  }
  if (!p.started) {
    o.status = "error";
    o.error = p.error;
    return o;
  }
  if (p.timed_out) {
    o.status = "timeout";
    o.error = fmt::format("killed after the time limit of {} s", timeout_seconds);
    return o;
  }
  if (p.exit_status == 0 || p.exit_status == 1 || p.exit_status == 3) {
    json parsed;
    try {
      parsed = json::parse(p.out);
    } catch (const json::parse_error&) {
      o.status = "error";
      o.error = fmt::format("exit status {} but stdout is not one JSON object: {}", p.exit_status,
                            stderr_summary(p.out.empty() ? std::string("(empty)") : p.out));
      return o;
    }
    if (parsed.is_object()) {
      if (parsed.contains("seconds")) o.reported_seconds = parsed["seconds"];
      if (parsed.contains("threads")) o.threads = parsed["threads"];
    }
    strip_keys(parsed, volatile_keys());
    o.result = std::move(parsed);
    const json* verdict = find_path(o.result, "verdict");
    if (verdict && verdict->is_string()) {
      o.status = verdict->get<std::string>();
      int expected_exit = o.status == "holds" ? 0 : o.status == "fails" ? 1 : 3;
      if (!is_result_status(o.status) || o.status == "ok") {
        o.warning = "unknown verdict '" + o.status + "'";
        o.status = "error";
        o.error = o.warning;
      } else if (expected_exit != p.exit_status) {
        o.warning = fmt::format("exit status {} disagrees with verdict {} (math §7: {} exits {})", p.exit_status, o.status,
                                o.status, expected_exit);
      }
    } else {
      o.status = p.exit_status == 0 ? "ok" : p.exit_status == 1 ? "fails" : "undecided";
    }
    return o;
  }
  if (p.exit_status == 2) {
    bool unknown = looks_unknown_subcommand(p.err, run.args);
    o.status = unknown ? "not-available" : "error";
    o.error = (unknown ? "not available in this build (exit 2): " : "bad input (exit 2): ") + stderr_summary(p.err);
    return o;
  }
  o.status = "error";
  o.error = fmt::format("exit status {}{}: {}", p.exit_status, p.exit_status == 4 ? " (internal error)" : "",
                        stderr_summary(p.err));
  return o;
}

namespace {

json outcome_to_json(const RunOutcome& o) {
  json j;
  j["id"] = o.spec->id;
  j["theorem"] = o.spec->theorem;
  j["provenance"] = o.spec->provenance;
  if (!o.spec->statement.empty()) j["statement"] = o.spec->statement;
  if (!o.spec->what.empty()) j["what"] = o.spec->what;
  j["argv"] = o.argv;
  j["command"] = shell_join(o.argv);
  j["status"] = o.status;
  j["exit_status"] = o.exit_status;
  if (!o.spec->expect.empty()) j["expect"] = o.spec->expect;
  j["as_expected"] = o.as_expected();
  if (!o.error.empty()) j["error"] = o.error;
  if (!o.warning.empty()) j["warning"] = o.warning;
  j["result"] = o.produced_result() ? o.result : json(nullptr);
  return j;
}

bool selected(const RunSpec& r, const std::vector<std::string>& only) {
  if (only.empty()) return true;
  for (const auto& s : only)
    if (r.id.find(s) != std::string::npos) return true;
  return false;
}

// 64-bit FNV-1a of a file's bytes, in hex ("" when it cannot be read).
std::string file_hash(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::uint64_t h = 0xcbf29ce484222325ULL;
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    for (std::streamsize i = 0; i < in.gcount(); ++i) {
      h ^= static_cast<unsigned char>(buf[static_cast<std::size_t>(i)]);
      h *= 0x100000001b3ULL;
    }
  }
  return fmt::format("{:016x}", h);
}

// Each argument as a possible file name: the value of --flag=value, else the word itself.
std::vector<std::string> argument_values(const std::vector<std::string>& args) {
  std::vector<std::string> values;
  for (const auto& a : args) {
    std::size_t eq = a.find('=');
    values.push_back(a.rfind("--", 0) == 0 && eq != std::string::npos ? a.substr(eq + 1) : a);
  }
  return values;
}

// The regular files inside the output directory that a run's arguments name (certificates it
// writes, files it reads), each with a hash of its bytes.  A journal record is reused only when
// these are unchanged, so a replay is never reused against a certificate that has been rewritten.
json files_named_by(const RunSpec& run, const std::filesystem::path& run_dir) {
  json files = json::object();
  for (const auto& v : argument_values(run.args)) {
    if (v.empty() || v[0] == '-') continue;
    std::error_code ec;
    const auto p = run_dir / v;
    if (std::filesystem::is_regular_file(std::filesystem::symlink_status(p, ec))) files[v] = file_hash(p);
  }
  return files;
}

// The files a run writes (--certificate, --emit-lrs, --out) are removed before it starts, so a
// run that fails or is killed cannot leave an earlier run's file behind for a later run (replay)
// to read as if it were new.  Directories (learn --out) are left: learn clears its own result.
void remove_stale_outputs(const RunSpec& run, const std::filesystem::path& run_dir) {
  static const std::vector<std::string> output_flags = {"--certificate", "--emit-lrs", "--out"};
  for (std::size_t i = 0; i < run.args.size(); ++i) {
    std::string target;
    for (const auto& f : output_flags) {
      if (run.args[i] == f && i + 1 < run.args.size()) target = run.args[i + 1];
      else if (run.args[i].rfind(f + "=", 0) == 0) target = run.args[i].substr(f.size() + 1);
    }
    if (target.empty()) continue;
    std::error_code ec;
    const auto p = run_dir / target;
    if (std::filesystem::is_regular_file(std::filesystem::symlink_status(p, ec))) std::filesystem::remove(p, ec);
  }
}

std::vector<std::string> shown_argv(const RunSpec& run) {
  std::vector<std::string> argv = {run.program.empty() ? "attnbounds" : run.program};
  argv.insert(argv.end(), run.args.begin(), run.args.end());
  if (run.append_json) argv.push_back("--json");
  return argv;
}

json outcome_record(const RunOutcome& o, const json& fingerprint, const json& files, double limit) {
  json outcome = {{"argv", o.argv}, {"status", o.status}, {"exit_status", o.exit_status},
                  {"error", o.error}, {"warning", o.warning}, {"result", o.result},
                  {"wall_seconds", o.wall_seconds}, {"seconds", o.reported_seconds}, {"threads", o.threads}};
  return {{"run", o.spec->id}, {"fingerprint", fingerprint}, {"files", files}, {"time_limit", limit}, {"outcome", outcome}};
}

// Throws json::exception when the record lacks a field (a journal edited by hand).
RunOutcome outcome_from_record(const RunSpec& spec, const json& record) {
  const json& r = record.at("outcome");
  RunOutcome o;
  o.spec = &spec;
  for (const auto& a : r.at("argv")) o.argv.push_back(a.get<std::string>());
  o.status = r.at("status").get<std::string>();
  o.exit_status = r.at("exit_status").get<int>();
  o.error = r.at("error").get<std::string>();
  o.warning = r.at("warning").get<std::string>();
  o.result = r.at("result");
  o.wall_seconds = r.at("wall_seconds").get<double>();
  o.reported_seconds = r.at("seconds");
  o.threads = r.at("threads");
  o.from_journal = true;
  return o;
}

// The journal's outcome of a run, when it may be reused: the run's command line, the program's
// bytes and the files its arguments name are what they were, and a timed-out run had the same
// time limit.  A record that cannot be read is not reused (the run is executed again).
std::optional<RunOutcome> reusable_outcome(const RunSpec& spec, const json* record, const json& fingerprint,
                                           const json& files, double limit) {
  if (!record) return std::nullopt;
  try {
    if (record->at("fingerprint") != fingerprint || record->at("files") != files) return std::nullopt;
    RunOutcome o = outcome_from_record(spec, *record);
    if (o.status == "timeout" && record->at("time_limit").get<double>() != limit) return std::nullopt;
    return o;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

// Outputs of the previous reproduce in `dir` that would look like the current run's while this
// one works: moved to *.previous.* names first, removed once the new ones are written.
const std::vector<std::pair<std::string, std::string>>& previous_names() {
  static const std::vector<std::pair<std::string, std::string>> names = {
      {"report.md", "report.previous.md"}, {"results.json", "results.previous.json"}, {"timings.json", "timings.previous.json"}};
  return names;
}

const char* signal_name(int sig) {
  return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : sig == SIGHUP ? "SIGHUP" : "a signal";
}


}  // namespace

int run_reproduce(const Manifest& manifest, const ReproduceOptions& options, json* summary) {
  namespace fs = std::filesystem;
  const std::string self = self_executable();
  // Nothing inside --out is followed through a symbolic link: a planted link could point anywhere.
  if (auto link = find_symlink_below(options.out))
    throw UsageError("--out", "'" + link->string() + "' is a symbolic link; reproduce does not write through links inside its output directory");
  fs::create_directories(options.out / "tables");
  fs::create_directories(options.out / "plots");
  fs::create_directories(options.out / "certificates");
  const fs::path run_dir = fs::absolute(options.out);

  // One reproduce per directory; then the journal decides what a second one may reuse.
  OutputDirLock lock(options.out);
  RunJournal journal(options.out);
  if (journal.exists() && !journal.complete() && journal.finished_runs() > 0 && !options.resume)
    throw UsageError("--out", fmt::format("'{}' holds an interrupted reproduce ({} finished runs in {}); continue it with "
                                          "--resume, or delete that file to start over",
                                          options.out.string(), journal.finished_runs(), journal.path().string()));
  for (const auto& [name, previous] : previous_names()) {
    std::error_code ec;
    if (!fs::exists(options.out / name, ec)) continue;
    fs::rename(options.out / name, options.out / previous, ec);
    if (ec) throw OutputError("cannot rename '" + (options.out / name).string() + "' to " + previous + ": " + ec.message());
  }
  const bool continuing = options.resume && journal.exists();
  if (continuing) journal.continue_existing();
  else journal.start_fresh({{"manifest", manifest.name}, {"label", options.manifest_label}});

  std::vector<RunOutcome> outcomes;
  std::size_t total = 0;
  for (const auto& r : manifest.runs) total += selected(r, options.only);
  if (total == 0) std::cerr << "reproduce: warning: no run id matches --only\n";
  std::size_t done = 0, reused = 0;
  double total_seconds = 0;
  std::map<std::string, std::string> program_hashes;
  int interrupted_by = 0;
  {
    InterruptGuard guard;
    for (const auto& run : manifest.runs) {
      if (!selected(run, options.only)) {
        RunOutcome skipped;
        skipped.spec = &run;
        skipped.argv.push_back(run.program.empty() ? "attnbounds" : run.program);
        skipped.argv.insert(skipped.argv.end(), run.args.begin(), run.args.end());
        outcomes.push_back(std::move(skipped));
        continue;
      }
      if ((interrupted_by = InterruptGuard::caught_signal()) != 0) break;
      ++done;
      double limit = options.timeout_seconds > 0 ? options.timeout_seconds
                     : run.timeout_seconds > 0   ? run.timeout_seconds
                                                 : manifest.timeout_seconds;
      const std::string program = run.program.empty() ? self : run.program;
      if (!program_hashes.count(program)) {
        auto found = program.find('/') != std::string::npos ? std::optional<std::string>(program) : find_program(program);
        program_hashes[program] = found ? file_hash(*found) : "";
      }
      const json fingerprint = {{"argv", shown_argv(run)}, {"program_bytes", program_hashes[program]}};
      if (options.progress)
        std::cerr << fmt::format("[{}/{}] {:<28} {}", done, total, run.id, shell_join(run.args)) << std::flush;
      std::optional<RunOutcome> kept;
      if (continuing) kept = reusable_outcome(run, journal.find(run.id), fingerprint, files_named_by(run, run_dir), limit);
      if (kept) {
        RunOutcome o = std::move(*kept);
        ++reused;
        if (options.progress) std::cerr << fmt::format("  -> {} (from the journal)\n", o.status);
        outcomes.push_back(std::move(o));
        continue;
      }
      remove_stale_outputs(run, run_dir);
      RunOutcome o = execute_run(run, self, limit, run_dir);
      if (o.status == "interrupted") {
        interrupted_by = InterruptGuard::caught_signal();
        if (options.progress) std::cerr << "  -> interrupted\n";
        break;
      }
      journal.append(outcome_record(o, fingerprint, files_named_by(run, run_dir), limit));
      total_seconds += o.wall_seconds;
      if (options.progress) {
        std::string note = o.status == "not-available" ? ""
                           : !o.produced_result()      ? "  (" + o.error + ")"
                           : !o.as_expected()          ? "  UNEXPECTED"
                                                       : "";
        if (note.size() > 120) note = note.substr(0, 120) + "...)";
        std::cerr << fmt::format("  -> {} ({:.1f} s){}\n", o.status, o.wall_seconds, note);
      }
      outcomes.push_back(std::move(o));
    }
    if (interrupted_by == 0) interrupted_by = InterruptGuard::caught_signal();
  }
  if (interrupted_by != 0) {
    std::size_t recorded = 0;
    for (const auto& o : outcomes) recorded += o.status != "skipped";
    std::cerr << fmt::format("reproduce: interrupted by {}: {} finished runs are recorded in {}; no report was written; "
                             "'reproduce --resume' with the same options continues\n",
                             signal_name(interrupted_by), recorded, journal.path().string());
    InterruptGuard::die_by(interrupted_by);
  }
  // Skipped runs are not part of this report.
  std::vector<RunOutcome> ran;
  for (auto& o : outcomes)
    if (o.status != "skipped") ran.push_back(o);
  Provenance provenance = current_provenance();
  int exit_status = write_reproduce_outputs(manifest, options, ran, provenance, summary);
  journal.mark_complete(exit_status);
  for (const auto& [name, previous] : previous_names()) {
    std::error_code ec;
    fs::remove(options.out / previous, ec);
  }
  if (options.progress)
    std::cerr << fmt::format("reproduce: {} runs ({} from the journal) in {:.1f} s; report: {}\n", ran.size(), reused,
                             total_seconds, (options.out / "report.md").string());
  return exit_status;
}

std::vector<RunOutcome> outcomes_from_results(const Manifest& manifest, const json& results) {
  std::vector<RunOutcome> out;
  if (!results.contains("runs") || !results["runs"].is_array()) return out;
  for (const auto& r : results["runs"]) {
    const RunSpec* spec = manifest.find_run(r.value("id", ""));
    if (!spec) continue;
    RunOutcome o;
    o.spec = spec;
    if (r.contains("argv") && r["argv"].is_array())
      for (const auto& a : r["argv"]) o.argv.push_back(a.get<std::string>());
    o.status = r.value("status", "error");
    o.exit_status = r.value("exit_status", -1);
    o.error = r.value("error", "");
    o.warning = r.value("warning", "");
    if (r.contains("result") && !r["result"].is_null()) o.result = r["result"];
    out.push_back(std::move(o));
  }
  return out;
}

int write_reproduce_outputs(const Manifest& manifest, const ReproduceOptions& options,
                            const std::vector<RunOutcome>& ran, const Provenance& provenance, json* summary) {
  namespace fs = std::filesystem;
  fs::create_directories(options.out / "tables");
  fs::create_directories(options.out / "plots");
  bool unexpected = false, incomplete = false;
  for (const auto& o : ran) {
    unexpected = unexpected || !o.as_expected();
    incomplete = incomplete || !o.produced_result();
  }
  int exit_status = unexpected ? 1 : incomplete ? 3 : 0;
  std::vector<std::string> comments;
  for (const auto& [key, value] : provenance.fields()) comments.push_back(key + ": " + value);

  std::vector<BuiltTable> tables;
  for (const auto& spec : manifest.tables) {
    tables.push_back(build_table(spec, ran, manifest));
    tables.back().table.comments = comments;
    std::string csv = tidy_csv(tables.back(), spec);
    write_table_files(tables.back().table, options.out / "tables", &csv);
  }
  std::vector<std::pair<Plot, PlotFiles>> plots;
  for (const auto& spec : manifest.plots) {
    const BuiltTable* table = nullptr;
    for (std::size_t i = 0; i < manifest.tables.size(); ++i)
      if (manifest.tables[i].id == spec.table) table = &tables[i];
    Plot plot = build_plot(spec, *table, manifest);
    plot.comments = comments;
    PlotFiles files = write_plot_files(plot, options.out / "plots", options.gnuplot);
    if (!files.warning.empty() && (options.progress || !options.gnuplot.empty())) std::cerr << "reproduce: plot " << plot.id << ": " << files.warning << '\n';
    plots.emplace_back(std::move(plot), std::move(files));
  }

  json results;
  results["tool"] = "attnbounds";
  results["version"] = ATTNBOUNDS_VERSION;
  results["command"] = "reproduce";
  results["provenance"] = provenance.to_json();
  results["manifest"] = {{"name", manifest.name}, {"label", options.manifest_label}, {"runs", manifest.runs.size()}};
  json counts = json::object();
  for (const auto& o : ran) counts[o.status] = counts.value(o.status, 0) + 1;
  json unexpected_ids = json::array(), incomplete_ids = json::array();
  for (const auto& o : ran) {
    if (!o.as_expected()) unexpected_ids.push_back(o.spec->id);
    if (!o.produced_result()) incomplete_ids.push_back(o.spec->id);
  }
  results["summary"] = {{"runs", ran.size()},       {"status_counts", counts},
                        {"unexpected", unexpected_ids}, {"without_result", incomplete_ids},
                        {"exit_status", exit_status}};
  json runs = json::array();
  for (const auto& o : ran) runs.push_back(outcome_to_json(o));
  results["runs"] = runs;
  json table_json = json::array();
  for (const auto& bt : tables) table_json.push_back(table_to_json(bt.table));
  results["tables"] = table_json;
  json plot_json = json::array();
  for (const auto& [plot, files] : plots) plot_json.push_back(plot_to_json(plot));
  results["plots"] = plot_json;
  write_text_file(options.out / "results.json", results.dump(2) + "\n");
  if (summary) *summary = results["summary"];

  json timings;
  double total_seconds = 0;
  for (const auto& o : ran) total_seconds += o.wall_seconds;
  timings["total_seconds"] = total_seconds;
  json per_run = json::array();
  for (const auto& o : ran)
    per_run.push_back({{"id", o.spec->id}, {"wall_seconds", o.wall_seconds}, {"seconds", o.reported_seconds}, {"threads", o.threads},
                       {"from_journal", o.from_journal}});
  timings["runs"] = per_run;
  write_text_file(options.out / "timings.json", timings.dump(2) + "\n");

  ReportInputs in{&manifest, &options, &ran, &tables, &plots, exit_status, &provenance};
  write_text_file(options.out / "report.md", write_report_markdown(in));
  return exit_status;
}

}  // namespace attnbounds
