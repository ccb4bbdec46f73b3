// `attnbounds cc disj|eq|index|ip --n N` and `attnbounds cc matrix --matrix FILE`:
// exact communication complexity (math §3.3, §5.5).
#include <fmt/format.h>

#include <bit>
#include <iostream>
#include <memory>

#include "cc/cc.hpp"
#include "builtin_commands.hpp"
#include "claims.hpp"
#include "common.hpp"

namespace attnbounds {
namespace {

struct CcCliOptions {
  CommonOptions common;
  int n = 3;
  std::string matrix_file;
  std::uint64_t max_nodes = 200'000'000;
};

json pairs_json(const cc::FoolingSet& f) {
  json a = json::array();
  for (auto [x, y] : f.pairs) a.push_back({x + 1, y + 1});
  return a;
}

// JSON of a protocol tree with 1-based row / column indices.
json protocol_json(const cc::ProtocolNode& node) {
  auto list = [](const cc::IndexSet& set) {
    json a = json::array();
    set.for_each([&](int i) { a.push_back(i + 1); });
    return a;
  };
  json j;
  if (node.child.empty()) {
    j["leaf"] = node.colour;
    j["rows"] = list(node.rows);
    j["cols"] = list(node.cols);
    return j;
  }
  j["speaker"] = node.speaker == 'A' ? "alice" : "bob";
  j["rows"] = list(node.rows);
  j["cols"] = list(node.cols);
  j["send0"] = protocol_json(node.child[0]);
  j["send1"] = protocol_json(node.child[1]);
  return j;
}

void print_tree(const cc::BoolMatrix& M, const cc::ProtocolNode& node, const std::string& indent, std::string& out) {
  auto list = [](const cc::IndexSet& set) {
    std::string s;
    set.for_each([&](int i) { s += (s.empty() ? "" : ",") + std::to_string(i + 1); });
    return s;
  };
  if (node.child.empty()) {
    out += fmt::format("{}leaf {}  rows {{{}}} x cols {{{}}}\n", indent, node.colour, list(node.rows), list(node.cols));
    return;
  }
  const bool alice = node.speaker == 'A';
  out += fmt::format("{}{} speaks: bit 0 keeps {} {{{}}}\n", indent, alice ? "Alice" : "Bob", alice ? "rows" : "cols",
                     list(alice ? node.child[0].rows : node.child[0].cols));
  print_tree(M, node.child[0], indent + "  ", out);
  out += fmt::format("{}{} bit 1 keeps {} {{{}}}\n", indent, alice ? "Alice" : "Bob", alice ? "rows" : "cols",
                     list(alice ? node.child[1].rows : node.child[1].cols));
  print_tree(M, node.child[1], indent + "  ", out);
}

void run_cc(const std::string& function, const CcCliOptions& o) {
  Stopwatch clock;
  cc::BoolMatrix M;
  json params;
  if (function == "matrix") {
    if (o.matrix_file.empty()) throw UsageError("--matrix", "a file of 0/1 rows is required");
    M = cc::read_matrix_file(o.matrix_file);
    params = {{"matrix", o.matrix_file}};
  } else {
    params = {{"n", o.n}};
    if (function == "disj") M = cc::make_disj(o.n);
    else if (function == "eq") M = cc::make_eq(o.n);
    else if (function == "index") M = cc::make_index(o.n);
    else M = cc::make_ip(o.n);
  }
  cc::CcOptions copts;
  copts.node_budget = o.max_nodes;
  const cc::CcResult r = cc::analyse(M, copts);

  json res = make_claim_result("cc", function, params, "exact");
  res["rows"] = M.rows;
  res["cols"] = M.cols;
  res["cases"] = static_cast<std::uint64_t>(M.rows) * M.cols;
  res["D"] = r.D ? json(*r.D) : json(nullptr);
  res["D_lower"] = r.D_lower;
  res["D_upper"] = r.D_upper;
  res["rank_Q"] = r.rank_Q;
  res["rank_GF2"] = r.rank_GF2;
  res["rank_Q_complement"] = r.rank_Q_complement;
  res["log_rank_bound"] = r.log_rank_bound;
  res["fooling_set_size"] = r.fooling.pairs.size();
  res["fooling_set_colour"] = r.fooling.colour;
  res["fooling_set_optimal"] = r.fooling.optimal;
  res["fooling_set_other_colour_size"] = r.fooling_other.pairs.size();
  res["fooling_bound"] = r.fooling_bound;
  res["one_way_alice"] = r.one_way_alice;
  res["one_way_bob"] = r.one_way_bob;
  res["distinct_rows"] = cc::distinct_rows(M);
  res["distinct_cols"] = cc::distinct_cols(M);
  res["search_nodes"] = r.search_nodes;
  res["bound"] = r.D ? std::to_string(*r.D) : fmt::format("[{}, {}]", r.D_lower, r.D_upper);
  res["worst"] = {{"value", r.D ? std::to_string(*r.D) : std::string("undecided")},
                  {"lower", std::to_string(r.D_lower)},
                  {"upper", std::to_string(r.D_upper)},
                  {"witness", {{"protocol_depth", r.protocol ? r.protocol->depth() : -1},
                               {"protocol_verified", r.protocol.has_value()}}}};
  res["bounds_note"] =
      "log_rank_bound = ceil(log2(rank_Q(M) + rank_Q(J-M))) and fooling_bound = ceil(log2(|F1| + |F0|)): a protocol "
      "with depth D has at most 2^D leaves, each a monochromatic rectangle";
  res["fooling_set"] = pairs_json(r.fooling);
  if (!M.row_labels.empty()) {
    res["row_labels"] = M.row_labels;
    res["col_labels"] = M.col_labels;
  }
  res["protocol"] = r.protocol ? protocol_json(*r.protocol) : json(nullptr);
  finish_result(res, r.D ? Verdict::Holds : Verdict::Undecided, clock.seconds(), 1);
  const int status = r.D ? 0 : 3;
  if (o.common.json) {
    emit(res, o.common, status);
    return;
  }
  std::string out = fmt::format("cc {} ({}x{} matrix{}): D = {}\n", function, M.rows, M.cols,
                                function == "matrix" ? "" : fmt::format(", n = {}", o.n),
                                r.D ? std::to_string(*r.D) : fmt::format("undecided in [{}, {}]", r.D_lower, r.D_upper));
  out += fmt::format("  rank over Q {} (complement {}), over GF(2) {}\n", r.rank_Q, r.rank_Q_complement, r.rank_GF2);
  out += fmt::format("  lower bounds: log-rank {}, fooling set {} (|F{}| = {}{}, |F{}| = {})\n", r.log_rank_bound,
                     r.fooling_bound, r.fooling.colour, r.fooling.pairs.size(), r.fooling.optimal ? "" : ", not proven maximum",
                     r.fooling_other.colour, r.fooling_other.pairs.size());
  out += fmt::format("  one-way: Alice -> Bob {} bits, Bob -> Alice {} bits\n", r.one_way_alice, r.one_way_bob);
  std::string pairs;
  for (auto [x, y] : r.fooling.pairs) pairs += fmt::format(" ({},{})", x + 1, y + 1);
  out += fmt::format("  fooling set (row, col), 1-based:{}\n", pairs);
  if (r.protocol) {
    out += "  protocol tree (1-based rows/cols):\n";
    print_tree(M, *r.protocol, "    ", out);
  }
  out += fmt::format("  time {:.3f} s\n", clock.seconds());
  std::cout << out;
  set_exit_status(status);
}

ParamDef max_nodes_row() {
  ParamDef d;
  d.flag = "--max-nodes";
  d.kind = ParamKind::UInt64;
  d.help = "search budget before reporting D undecided";
  d.default_value = "200000000";
  d.lo = 1;
  d.hi = 1LL << 40;
  return d;
}

// n is the input length of the communication problem (never the number of tokens N).
const ParamTable kNamedParams = with_common(
    {param::N().with_flag("--n").with_range(1, cc::kMaxNamedN).with_default(3).with_help("input length n"), max_nodes_row()},
    false);
const ParamTable kMatrixParams = with_common(
    {param::file("--matrix", "file of 0/1 rows (at most 256x256)").as_required(), max_nodes_row()}, false);

void attach_function(CLI::App& parent, const std::string& function, const std::string& help) {
  auto opts = std::make_shared<CcCliOptions>();
  CLI::App* sub = parent.add_subcommand(function, help);
  if (function == "matrix")
    bind_with_common(*sub, kMatrixParams, {{"--matrix", &opts->matrix_file}, {"--max-nodes", &opts->max_nodes}}, opts->common);
  else
    bind_with_common(*sub, kNamedParams, {{"--n", &opts->n}, {"--max-nodes", &opts->max_nodes}}, opts->common);
  sub->callback([opts, function] { run_cc(function, *opts); });
}

RegistryEntry cc_entry(const std::string& function, const std::string& description, const std::string& help) {
  RegistryEntry e{"cc", function, "", "", description, "",
                  [function, help](CLI::App& app) { attach_function(app, function, help); }};
  e.table = function == "matrix" ? &kMatrixParams : &kNamedParams;
  return e;
}

}  // namespace

void register_cc_commands() {
  register_entry(cc_entry("disj", "DISJ_n: D = n+1, rank 2^n, fooling set {(a, not a)}", "set disjointness DISJ_n"));
  register_entry(cc_entry("eq", "EQ_n: D = n+1", "equality EQ_n"));
  register_entry(cc_entry("index", "INDEX_n: one-way Alice->Bob needs n bits", "INDEX_n(b, k) = b_k"));
  register_entry(cc_entry("ip", "inner product mod 2", "inner product mod 2 IP_n"));
  register_entry(cc_entry("matrix", "exact D, ranks, fooling set of a 0/1 matrix file", "a 0/1 matrix from a file"));
}

}  // namespace attnbounds
