#include "common.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <set>

#include "core/atomic_file.hpp"
#include "core/input_file.hpp"
#include "enumerate/journal.hpp"
#include "enumerate/mpi_shard.hpp"
#include "enumerate/run_control.hpp"
#include "modelfile/safetensors.hpp"

namespace attnbounds {

std::string flag_of_field(const std::string& field) {
  if (field.empty() || field.rfind("--", 0) == 0) return field;
  const std::string from_table = flag_for_field(field);
  if (!from_table.empty()) return from_table;
  std::string flag = "--" + field;
  std::replace(flag.begin() + 2, flag.end(), '_', '-');
  return flag;
}

namespace {

// The run control of the command being run, installed once its options are parsed.
struct CommandRun {
  RunControl control;
  std::unique_ptr<ChunkJournal> journal;
  std::string journal_path;  // as given; under --mpi each rank's file is rank_journal_path() of it
  MpiShard* shard = nullptr;
  std::unique_ptr<ShardedJournalHooks> sharded_journal;  // --mpi with --journal/--resume
  std::optional<RunControlScope> scope;
};
std::unique_ptr<CommandRun> g_run;

// Swallows what a non-zero MPI rank would print: one report per run.
class NullBuffer : public std::streambuf {
 protected:
  int overflow(int ch) override { return traits_type::not_eof(ch); }
  std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
};
NullBuffer g_null_buffer;
std::streambuf* g_saved_cout = nullptr;

std::string command_path_of(CLI::App& app) {
  std::string path;
  for (CLI::App* a = &app; a && a->get_parent(); a = a->get_parent()) path = a->get_name() + (path.empty() ? "" : " " + path);
  return path;
}

// What identifies the run in a journal: the command, the toolkit version and every given option
// that can change a result (not the output format, the threads or the process flags); an input
// file by its contents, not its name.
std::string run_description(CLI::App& app) {
  static const std::set<std::string> process_only = {"--json", "--threads", "--force", "--time-limit", "--journal",
                                                     "--resume", "--mpi", "--format", "--certificate", "--emit-lrs",
                                                     "--out"};
  std::string run = command_path_of(app) + " (attnbounds " + ATTNBOUNDS_VERSION + ")";
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->count() == 0 || opt->get_lnames().empty()) continue;
    const std::string flag = "--" + opt->get_lnames().front();
    if (process_only.count(flag)) continue;
    std::string value;
    for (const auto& r : opt->results()) value += (value.empty() ? "" : ",") + r;
    if (flag == "--model" || flag == "--input") {
      std::ifstream in(value, std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      value += "#" + std::to_string(fnv1a64(bytes));
    }
    run += " " + flag + "=" + value;
  }
  return run;
}

// Rank r of K keeps its own journal: every rank computes other chunks, so one file per rank.
std::string rank_journal_path(const std::string& path, int rank, int ranks) {
  return path + ".rank-" + std::to_string(rank) + "-of-" + std::to_string(ranks);
}

// The rank counts K of the per-rank journals PATH.rank-0-of-K beside `path`.
std::vector<int> rank_counts_journaled(const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path p(path);
  const std::string prefix = p.filename().string() + ".rank-0-of-";
  std::vector<int> counts;
  std::error_code ec;
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string k = name.substr(prefix.size());
    if (!k.empty() && k.size() < 7 && k.find_first_not_of("0123456789") == std::string::npos) counts.push_back(std::stoi(k));
  }
  std::sort(counts.begin(), counts.end());
  return counts;
}

// Before resuming: when this run's journal file is missing but the journal was written with
// another number of MPI ranks (or without --mpi), says so in one line.
void refuse_other_rank_count(const std::string& path, const MpiShard* shard) {
  const int ranks = shard ? shard->size() : 0;
  const std::string mine = shard ? rank_journal_path(path, shard->rank(), ranks) : path;
  std::error_code ec;
  if (std::filesystem::exists(mine, ec)) return;
  const std::vector<int> counts = rank_counts_journaled(path);
  for (int k : counts)
    if (k != ranks)
      throw UsageError("--resume", "'" + path + "' was journaled by " + std::to_string(k) + " MPI rank" + (k == 1 ? "" : "s") +
                                       " (files " + rank_journal_path(path, 0, k) + " ...); resume it with mpirun -np " +
                                       std::to_string(k) + " and --mpi" +
                                       (shard ? " (this run has " + std::to_string(ranks) + ")" : ""));
  if (shard && std::filesystem::exists(path, ec))
    throw UsageError("--resume", "'" + path + "' is the journal of a run without --mpi; resume it without --mpi");
}

// When any rank failed (error set), every rank throws the error of the lowest failing rank:
// printed by rank 0, with its exit status on all ranks.  Collective.
void share_outcome(const MpiShard& shard, const std::exception_ptr& error) {
  std::string mine;
  if (error) {
    const ErrorReport r = describe_error(error);
    mine = std::to_string(r.status) + " " + r.line;
  }
  const std::string first = shard.first_of(mine);
  if (first.empty()) return;
  if (error && first == mine && shard.rank() == 0) std::rethrow_exception(error);
  const std::size_t sp = first.find(' ');
  const int status = std::stoi(first.substr(0, sp));
  throw AgreedError(status, shard.rank() == 0 ? first.substr(sp + 1) : "");
}

void start_command_run(CLI::App& app, const CommonOptions& o) {
  auto run = std::make_unique<CommandRun>();
  run->control.label = command_path_of(app);
  run->control.force = o.force;
  run->control.time_limit_seconds = parse_rational_param("--time-limit", o.time_limit).get_d() * 60.0;
  if (!o.journal.empty() && !o.resume.empty()) throw UsageError("--resume", "give either --journal or --resume, not both");
  run->journal_path = o.resume.empty() ? o.journal : o.resume;
  if (o.mpi) {
    if (!mpi_available()) throw UsageError("--mpi", mpi_description());
    run->shard = &MpiShard::start();
    run->control.hooks = run->shard;
    if (run->shard->rank() != 0 && !g_saved_cout) g_saved_cout = std::cout.rdbuf(&g_null_buffer);
  }
  if (!run->journal_path.empty()) {
    // Opening reads the file: another run's journal is refused before any work.  Under --mpi the
    // run description includes the rank count, so a journal is resumed only by as many ranks.
    const bool resume = !o.resume.empty();
    std::string description = run_description(app), file = run->journal_path;
    if (run->shard) {
      description += " mpi_ranks=" + std::to_string(run->shard->size());
      file = rank_journal_path(run->journal_path, run->shard->rank(), run->shard->size());
    }
    std::exception_ptr error;
    try {
      if (resume) refuse_other_rank_count(run->journal_path, run->shard);
      run->journal = std::make_unique<ChunkJournal>(file, description, resume);
    } catch (...) {
      error = std::current_exception();
    }
    if (run->shard) share_outcome(*run->shard, error);  // a rank that cannot open its journal stops them all
    else if (error) std::rethrow_exception(error);
    if (const char* k = std::getenv("ATTNBOUNDS_TEST_KILL_AFTER_CHUNKS")) run->journal->kill_after(std::strtoull(k, nullptr, 10));
    if (run->shard) {
      run->sharded_journal = std::make_unique<ShardedJournalHooks>(*run->journal, *run->shard);
      run->control.hooks = run->sharded_journal.get();
    } else {
      run->control.hooks = run->journal.get();
    }
  }
  g_run.reset();  // one command per process; a previous scope must end before the next begins
  g_run = std::move(run);
  g_run->scope.emplace(g_run->control);
}

}  // namespace

void end_command_run() {
  g_run.reset();
  if (g_saved_cout) {
    std::cout.flush();
    std::cout.rdbuf(g_saved_cout);
    g_saved_cout = nullptr;
  }
}

void annotate_run(json& result) {
  if (g_run && g_run->shard) {
    json same = result;
    for (const char* k : {"seconds", "threads"}) same.erase(k);
    if (!g_run->shard->agree(fnv1a64(same.dump()))) throw std::logic_error("mpi: the ranks reached different results");
  }
  if (g_run && g_run->journal) {
    std::uint64_t resumed = g_run->journal->resumed_chunks(), written = g_run->journal->written_chunks();
    json j = {{"file", g_run->journal_path}};
    if (g_run->shard) {
      // Totals over the ranks, each of which journals its own chunks.
      resumed = g_run->shard->sum(resumed);
      written = g_run->shard->sum(written);
      json files = json::array();
      for (int r = 0; r < g_run->shard->size(); ++r) files.push_back(rank_journal_path(g_run->journal_path, r, g_run->shard->size()));
      j["files"] = files;
    }
    j["chunks_resumed"] = resumed;
    j["chunks_written"] = written;
    result["journal"] = j;
  }
  if (g_run && g_run->shard) result["mpi"] = {{"ranks", g_run->shard->size()}, {"library", mpi_description()}};
}

std::vector<std::string> gather_over_ranks(const std::string& mine) {
  if (!g_run || !g_run->shard) return {mine};
  return g_run->shard->gather(mine);
}

bool writes_outputs() { return !(g_run && g_run->shard && g_run->shard->rank() != 0); }

void write_model_file_once(const std::function<void()>& write) {
  write_once([&] {
    try {
      write();
    } catch (const ModelFileError& e) {
      throw UsageError("--out", e.what());
    }
  });
}

void write_once(const std::function<void()>& write) {
  if (!g_run || !g_run->shard) {
    write();
    return;
  }
  std::exception_ptr error;
  if (g_run->shard->rank() == 0) {
    // Rank 0 alone: its reductions must take no collective decision (the time limit), so the
    // hooks are set aside; the reductions of an output writer have no codec and were never sharded.
    ChunkHooks* hooks = g_run->control.hooks;
    g_run->control.hooks = nullptr;
    try {
      write();
    } catch (...) {
      error = std::current_exception();
    }
    g_run->control.hooks = hooks;
  }
  share_outcome(*g_run->shard, error);
}

ParamTable common_params(bool with_semantics) {
  ParamTable t = {param::json(),       param::threads(), param::seed(),   param::force(),
                  param::time_limit(), param::journal(), param::resume(), param::mpi()};
  if (with_semantics) t.push_back(param::semantics());
  return t;
}

std::vector<ParamBinding> common_bindings(CommonOptions& opts, bool with_semantics) {
  std::vector<ParamBinding> b = {{"--json", &opts.json},         {"--threads", &opts.threads},
                                 {"--seed", &opts.seed},         {"--force", &opts.force},
                                 {"--time-limit", &opts.time_limit}, {"--journal", &opts.journal},
                                 {"--resume", &opts.resume},     {"--mpi", &opts.mpi}};
  if (with_semantics) b.push_back({"--semantics", &opts.semantics});
  return b;
}

ParamTable with_common(ParamTable own, bool with_semantics) {
  for (auto& d : common_params(with_semantics))
    if (std::none_of(own.begin(), own.end(), [&](const ParamDef& o) { return o.flag == d.flag; })) own.push_back(d);
  return own;
}

GivenParams bind_with_common(CLI::App& app, const ParamTable& table, std::vector<ParamBinding> targets, CommonOptions& opts) {
  const bool with_semantics = std::any_of(table.begin(), table.end(), [](const ParamDef& d) { return d.flag == "--semantics"; });
  for (auto& b : common_bindings(opts, with_semantics))
    if (std::any_of(table.begin(), table.end(), [&](const ParamDef& d) { return d.flag == b.flag; }) &&
        std::none_of(targets.begin(), targets.end(), [&](const ParamBinding& t) { return t.flag == b.flag; }))
      targets.push_back(b);
  GivenParams given = bind_params(app, table, targets);
  after_parse(app, [&app, &opts] { start_command_run(app, opts); });
  return given;
}

void add_common(CLI::App& app, CommonOptions& opts, bool with_semantics) {
  static const ParamTable with_sem = common_params(true), without_sem = common_params(false);
  bind_params(app, with_semantics ? with_sem : without_sem, common_bindings(opts, with_semantics));
  after_parse(app, [&app, &opts] { start_command_run(app, opts); });
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

void emit(const json& given, const CommonOptions& opts, int status) {
  json result = given;
  annotate_run(result);
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
