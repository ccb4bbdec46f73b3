#include "json_match.hpp"

#include "claims.hpp"
#include "tables.hpp"

#include <cmath>

namespace attnbounds {

namespace {

// Decimal string of a double bound (exact value of the double, rounded outward to 17 digits).
// A bound that overflowed (e.g. under a huge temperature) is printed as the trivially true
// infinite bound in its direction: a double that is not finite has no rational value.
std::string decimal(double v, int direction) {
  if (!std::isfinite(v)) return direction > 0 ? "inf" : "-inf";
  return to_decimal_string(Rational(v), 17, direction);
}

json witness_json(const MatchCaseWitness& w) { return json{{"x", w.x}, {"token", w.token + 1}}; }

json side_json(const MatchSide& s) {
  if (!s.any) return json{{"value", "none"}};
  return json{{"lower", decimal(s.stat_lower, -1)}, {"upper", decimal(s.stat_upper, +1)}, {"witness", witness_json(s.witness)}};
}

// cases, fallbacks, the two extreme sides, worst{value, lower, upper, witness} and bound "0" (the
// room must be positive).
void add_sweep(json& result, const MatchSweepSummary& s, const char* matched_name, const char* unmatched_name) {
  result["cases"] = s.cases;
  result["fallback_cases"] = s.fallbacks;
  result["failing_cases"] = s.failing;
  result["undecided_cases"] = s.undecided;
  result[matched_name] = side_json(s.matched);
  result[unmatched_name] = side_json(s.unmatched);
  if (s.worst) {
    const MatchWorst& w = *s.worst;
    json worst{{"value", w.failing ? decimal(w.upper, +1) : decimal(w.lower, -1)},
               {"lower", decimal(w.lower, -1)},
               {"upper", decimal(w.upper, +1)},
               {"witness", witness_json(w.witness)}};
    if (w.check) {
      worst["witness"]["model"] = w.check->model;
      worst["witness"]["truth"] = w.check->truth;
      worst["witness"]["verified_by"] = w.check->confirmed
                                            ? "direct forward pass (attention.hpp) + tasks.hpp ground truth"
                                            : "forward pass did not confirm";
    }
    result["worst"] = worst;
  }
  result["bound"] = "0";
}

json interval_json(const Interval& v) {
  return json{{"lower", to_decimal_string(v.lower(), 17, -1)}, {"upper", to_decimal_string(v.upper(), 17, +1)}};
}

json one_based(const std::vector<int>& v) {
  json a = json::array();
  for (int j : v) a.push_back(j + 1);
  return a;
}

}  // namespace

void add_match_sweep(json& result, const MatchSweepSummary& s, const char* matched_name, const char* unmatched_name) {
  add_sweep(result, s, matched_name, unmatched_name);
}

json to_json(const Match2Result& r) {
  json params{{"N", r.N}, {"M", r.M}, {"c", to_exact_string(r.c)}, {"flip_query_sign", r.flip_query_sign}};
  json result = make_claim_result("check", "match2", params, r.semantics);
  result["m"] = 2;
  result["m_paper"] = 3;
  result["residual"] = true;
  result["gap"] = to_decimal_string(r.gap_lower, 17, -1);
  result["threshold"] = to_decimal_string(r.threshold_lower, 17, 0);
  result["temperature_bound"] = to_decimal_string(r.temperature_bound_upper, 17, +1);
  result["temperature_above_bound"] = r.temperature_above_bound;
  result["reduction"] = r.reduction;
  add_sweep(result, r.sweep, "largest_matched_norm", "smallest_unmatched_norm");
  finish_result(result, r.verdict, r.seconds, r.threads);
  return result;
}

json to_json(const Match2NoResidualResult& r) {
  json params{{"N", r.N}, {"M", r.M}, {"c", to_exact_string(r.c)}, {"residual", false}};
  const ClaimInfo& claim = claim_info("check", "match2 --no-residual");
  json result = make_result("check", "match2", claim.theorem, claim.provenance, params, r.semantics);
  result["m"] = 4;
  result["m_paper"] = 3;
  result["residual"] = false;
  result["score_gap"] = to_decimal_string(r.score_gap_lower, 17, -1);
  result["norm_threshold"] = to_decimal_string(r.norm_threshold_lower, 17, 0);
  result["axis_threshold"] = to_decimal_string(r.axis_threshold_lower, 17, 0);
  result["psi"] = r.psi;
  result["reduction"] = r.reduction;
  add_sweep(result, r.sweep, "smallest_matched_psi_function", "largest_unmatched_psi_function");
  finish_result(result, r.verdict, r.seconds, r.threads);
  return result;
}

json to_json(const Match3ThirdOrderResult& r) {
  json params{{"N", r.N}, {"M", r.M}, {"c", to_exact_string(r.c)}, {"flip_query_sign", r.flip_query_sign}};
  json result = make_claim_result("check", "match3-third-order", params, r.semantics);
  result["m"] = 4;
  result["residual"] = true;  // psi sees x_i besides the unit output
  result["residual_meaning"] = r.residual;
  result["gap"] = to_decimal_string(r.gap_lower, 17, -1);
  result["threshold"] = to_decimal_string(r.threshold_lower, 17, 0);
  result["temperature_bound"] = to_decimal_string(r.temperature_bound_upper, 17, +1);
  result["temperature_above_bound"] = r.temperature_above_bound;
  result["reduction"] = r.reduction;
  add_sweep(result, r.sweep, "smallest_matched_statistic", "largest_unmatched_statistic");
  finish_result(result, r.verdict, r.seconds, r.threads);
  return result;
}

json to_json(const Match3LocalResult& r) {
  json params{{"N", r.N}, {"M", r.M}, {r.window ? "w" : "q", r.q}, {"c", to_exact_string(r.c)}};
  json result = make_claim_result("check", r.claim, params, r.semantics);
  result["m"] = r.m;
  result["m_formula"] = r.m_formula;
  result["reduction"] = r.reduction;
  result["cases"] = r.rows + r.decoder_multisets;
  result["rows_checked"] = r.rows;
  result["decoder_multisets_checked"] = r.decoder_multisets;
  result["decoder_failures"] = r.decoder_failures;
  result["fallback_rows"] = r.fallback_rows;
  result["bound"] = "1/2";
  result["worst"] = {{"value", decimal(r.worst_upper, +1)}, {"lower", decimal(r.worst_lower, -1)},
                     {"upper", decimal(r.worst_upper, +1)}, {"witness", {{"hints", one_based(r.worst_hints)}}}};
  result["worst_meaning"] = r.worst_meaning;
  if (r.witness) {
    const auto& w = *r.witness;
    json hy = json::array();
    for (const auto& s : w.y) hy.push_back(one_based(s));
    result["worst"]["witness"] = {{"x", w.x}, {"y", hy}, {"token", w.token + 1}, {"model", w.model}, {"truth", w.truth},
                                  {"verified_by", "direct forward pass (attention.hpp, MPFI) + hinted ground truth"}};
  }
  finish_result(result, r.verdict, r.seconds, r.threads);
  return result;
}

json to_json(const MatchEvalResult& r, const std::string& claim) {
  json params{{"N", r.x.size()}, {"M", r.M}, {"c", to_exact_string(r.c)}};
  if (r.residual) params["residual"] = *r.residual;
  json result = make_claim_result("eval", claim, params, r.semantics);
  result["construction"] = r.construction;
  if (r.threshold) result["threshold"] = to_decimal_string(*r.threshold, 17, 0);
  json tokens = json::array();
  for (const auto& d : r.tokens)
    tokens.push_back({{"x", d.x}, {"model", d.model}, {"truth", d.truth}, {r.stat_name, interval_json(d.stat)}, {"decided", d.decided}});
  result["tokens"] = tokens;
  result["errors"] = r.errors;
  return result;
}

json to_json(const Match3LocalEval& r) {
  json tokens = json::array();
  for (const auto& t : r.tokens)
    tokens.push_back({{"x", t.x}, {"y", one_based(t.y)}, {"model", t.model}, {"truth", t.truth},
                      {"decoded_candidates", t.decoded}, {"decided", t.decided}});
  const char* claim = r.window ? "match3-window" : "match3-hinted";
  json result = make_claim_result("eval", claim,
                                  {{"N", r.N}, {"M", r.M}, {r.window ? "w" : "q", r.q}, {"c", to_exact_string(r.c)}}, r.semantics);
  result["construction"] = claim;
  result["tokens"] = tokens;
  result["errors"] = r.errors;
  return result;
}

namespace {
// Token 0's output: one number for d' = 1 (every built-in model), else an array of d' numbers.
json output_json(const std::vector<Rational>& out) {
  if (out.size() == 1) return to_exact_string(out[0]);
  json a = json::array();
  for (const auto& v : out) a.push_back(to_exact_string(v));
  return a;
}
}  // namespace

json to_json(const Match3DisjResult& r) {
  json params{{"n", r.n}, {"N", 2 * r.n + 1}, {"model", r.model.family}, {"m", r.model.m}, {"H", r.model.H},
              {"seed", r.model.seed}};
  if (r.model.family == "trig") params["c"] = to_exact_string(r.model.c);
  // A table unit (a model file): the caller adds what names the file.
  if (r.from_tables) params = {{"n", r.n}, {"N", 2 * r.n + 1}, {"M", r.reduction.M}, {"k", r.model.m}, {"d", r.d}, {"H", 1}};
  json result = make_claim_result("lower", "match3-disj", params, r.semantics);
  result["reduction"] = {{"M", r.reduction.M}, {"t", r.reduction.t}, {"s", r.reduction.s}, {"dummy", r.reduction.dummy}};
  result["reduction_search"] = {{"order", r.search_order}, {"candidates_tried", r.candidates_tried}};
  result["instances"] = r.instances;
  result["reduction_verified"] = r.reduction_verified;
  result["protocol"] = {{"instances_checked", r.instances}, {"mismatches", r.protocol_mismatches}, {"tiles", r.tiles}};
  result["messages"] = {{"distinct", r.distinct_messages}, {"sets", r.sets}, {"bits_per_message", r.bits_per_message},
                        {"bits_formula", r.bits_formula}, {"bits_needed", r.bits_needed},
                        {"pigeonhole_forces_collision", r.pigeonhole_forces_collision}};
  result["bound"] = std::to_string(r.sets);
  result["cases"] = r.instances;
  result["bound_proved"] = r.bound_proved.empty() ? json(nullptr) : json(r.bound_proved);
  result["verdict_meaning"] = r.verdict_meaning;
  if (r.error) result["error"] = *r.error;
  const std::string distinct = std::to_string(r.distinct_messages);
  json worst{{"value", distinct}, {"lower", distinct}, {"upper", distinct},
             {"witness", {{"note", "no collision: every Bob message is distinct (value = distinct messages)"}}}};
  if (r.collision) {
    const auto& c = *r.collision;
    worst["witness"] = {{"inputs", json::array({json{{"x", c.x1}}, json{{"x", c.x2}}})},
                        {"token", 1},
                        {"alice_set", c.alice_set},
                        {"bob_sets", json::array({json(c.bob_set1), json(c.bob_set2)})},
                        {"outputs", json::array({output_json(c.output1), output_json(c.output2)})},
                        {"truth", json::array({c.truth1, c.truth2})},
                        {"verified_by", "forward passes give identical outputs while tasks.hpp Match3 differs: "
                                        "every psi is wrong on one of the two inputs"}};
  }
  result["worst"] = worst;
  if (!r.layouts.empty()) {
    json layouts = json::array();
    for (const auto& l : r.layouts)
      layouts.push_back({{"A", l.A}, {"B", l.B}, {"x", l.x}, {"match3_token1", l.match3_token1}});
    result["layouts"] = layouts;
  }
  finish_result(result, r.verdict, r.seconds, r.threads);
  return result;
}

json to_json(const Match3DisjGrid& g) {
  json rows = json::array();
  for (const auto& row : g.rows)
    rows.push_back({{"m", row.m}, {"p", row.p}, {"H", row.H}, {"message_bits", row.message_bits}, {"n", row.n},
                    {"distinct_messages", row.distinct_messages}, {"sets", row.sets},
                    {"result", row.verdict == Verdict::Fails   ? "fail (verified collision)"
                               : row.verdict == Verdict::Holds ? "pass"
                                                               : "undecided"}});
  json out = make_claim_result("lower", "match3-disj --grid",
                         {{"n", g.n}, {"model", g.model_family}, {"seed", g.seed}}, g.semantics);
  out["rows"] = rows;
  out["seconds"] = g.seconds;
  out["threads"] = g.threads;
  return out;
}

std::string render_grid(const Match3DisjGrid& g, const std::string& format) {
  const json grid = to_json(g);
  if (format == "json") return grid.dump(2) + "\n";
  const char* cols[] = {"m", "p", "H", "message_bits", "n", "distinct_messages", "sets", "result"};
  auto cell = [](const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
  std::string out;
  if (format == "csv") {
    out += "m,p,H,message_bits,n,distinct_messages,sets,result\n";
    for (const auto& r : grid["rows"]) {
      std::string line;
      for (const char* c : cols) line += (line.empty() ? "" : ",") + cell(r[c]);
      out += line + "\n";
    }
  } else if (format == "latex") {
    Table t;
    t.id = "match3_disj_grid";
    t.headers = {"m", "p", "H", "bits", "n", "distinct", "2^n", "result"};
    t.latex_headers = {"$m$", "$p$", "$H$", "bits", "$n$", "distinct", "$2^n$", "result"};
    for (const auto& r : grid["rows"]) {
      std::vector<std::string> row;
      for (const char* c : cols) row.push_back(cell(r[c]));
      t.rows.push_back(std::move(row));
    }
    out += render_latex(t);
  } else if (format == "md") {
    out += "| m | p | H | message bits | n | distinct messages | 2^n | result |\n|---|---|---|---|---|---|---|---|\n";
    for (const auto& r : grid["rows"]) {
      std::string line = "|";
      for (const char* c : cols) line += " " + cell(r[c]) + " |";
      out += line + "\n";
    }
  } else {
    throw UsageError("--format", "must be md, csv, latex or json (got '" + format + "')");
  }
  return out;
}

}  // namespace attnbounds
