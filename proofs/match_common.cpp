#include "proofs/match_common.hpp"

#include <cmath>
#include <map>

namespace attnbounds {

std::uint64_t query_multiset_cases(int N, int M) {
  std::uint64_t per = binomial_saturating(M + N - 2, N - 1);
  if (per > UINT64_MAX / static_cast<std::uint64_t>(M)) return UINT64_MAX;
  return per * static_cast<std::uint64_t>(M);
}

std::vector<int> query_multiset_input(std::uint64_t index, int N, int M) {
  const int k = N - 1;
  const std::uint64_t per_query = binomial(M + k - 1, k);
  std::vector<int> x(static_cast<std::size_t>(N));
  x[0] = static_cast<int>(index / per_query);
  unrank_multiset_lex(index % per_query, M, k, x.data() + 1);
  return x;
}

namespace {
void fold_side(MatchSideWorst& side, const MatchCaseOutcome& o, std::uint64_t index) {
  if (!side.any || o.margin_lo < side.margin_lo) {
    side = {true, o.stat_lo, o.stat_hi, o.margin_lo, o.margin_hi, index};
  }
}
void combine_side(MatchSideWorst& acc, const MatchSideWorst& part) {
  if (part.any && (!acc.any || part.margin_lo < acc.margin_lo)) acc = part;
}
}  // namespace

void fold_outcome(MatchSweepResult& acc, const MatchCaseOutcome& o, std::uint64_t index) {
  ++acc.cases;
  if (o.used_fallback) ++acc.fallbacks;
  fold_side(o.matched ? acc.matched : acc.unmatched, o, index);
  if (o.margin_hi < 0) {
    ++acc.fails;
    if (!acc.has_fail) { acc.has_fail = true; acc.first_fail = index; acc.first_fail_outcome = o; }
  } else if (!(o.margin_lo > 0)) {
    ++acc.undecided;
    if (!acc.has_undecided) { acc.has_undecided = true; acc.first_undecided = index; }
  }
}

void combine_sweeps(MatchSweepResult& acc, MatchSweepResult&& part) {
  acc.cases += part.cases;
  acc.fallbacks += part.fallbacks;
  acc.fails += part.fails;
  acc.undecided += part.undecided;
  combine_side(acc.matched, part.matched);
  combine_side(acc.unmatched, part.unmatched);
  if (part.has_fail && !acc.has_fail) {
    acc.has_fail = true; acc.first_fail = part.first_fail; acc.first_fail_outcome = part.first_fail_outcome;
  }
  if (part.has_undecided && !acc.has_undecided) { acc.has_undecided = true; acc.first_undecided = part.first_undecided; }
}

MatchFailingCase failing_case(const MatchSweepResult& sweep) {
  const MatchSideWorst* worst = &sweep.matched;
  if (!worst->any || (sweep.unmatched.any && sweep.unmatched.margin_lo < worst->margin_lo)) worst = &sweep.unmatched;
  if (worst->any && worst->margin_hi < 0) {
    MatchCaseOutcome o;
    o.stat_lo = worst->stat_lo; o.stat_hi = worst->stat_hi;
    o.margin_lo = worst->margin_lo; o.margin_hi = worst->margin_hi;
    return {worst->index, o};
  }
  return {sweep.first_fail, sweep.first_fail_outcome};
}

std::string match_decimal(double v, int direction) {
  // A bound that overflowed (e.g. under a huge temperature) is reported as the trivially true
  // infinite bound in its direction; a double that is not finite has no rational value.
  if (!std::isfinite(v)) return direction > 0 ? "inf" : "-inf";
  return to_decimal_string(Rational(v), 17, direction);
}

}  // namespace attnbounds

namespace attnbounds {

MatchCaseWitness sweep_witness(std::uint64_t index, int N, int M, bool tuples) {
  MatchCaseWitness w;
  if (!tuples) {
    w.x = query_multiset_input(index, N, M);
    w.token = 0;
    return w;
  }
  w.x.assign(static_cast<std::size_t>(N), 0);
  unrank_tuple(index / static_cast<std::uint64_t>(N), M, N, w.x.data());
  w.token = static_cast<int>(index % static_cast<std::uint64_t>(N));
  return w;
}

json witness_json(const MatchCaseWitness& w) { return json{{"x", w.x}, {"token", w.token + 1}}; }

}  // namespace attnbounds

namespace attnbounds {

namespace {

json side_json(const MatchSideWorst& s, int N, int M, bool tuples) {
  if (!s.any) return json{{"value", "none"}};
  return json{{"lower", match_decimal(s.stat_lo, -1)}, {"upper", match_decimal(s.stat_hi, +1)},
              {"witness", witness_json(sweep_witness(s.index, N, M, tuples))}};
}

}  // namespace

json match_eval_report(const std::string& construction, const std::vector<int>& x, int M, const Rational& c,
                       const Semantics& semantics, const Interval& threshold,
                       const std::vector<MatchTokenDecision>& decisions, const std::string& stat_name) {
  json result{{"tool", "attnbounds"}, {"version", ATTNBOUNDS_VERSION}, {"command", "eval"}, {"construction", construction},
              {"params", {{"N", x.size()}, {"M", M}, {"c", to_exact_string(c)}}},
              {"semantics", semantics.name()},
              {"threshold", to_decimal_string(threshold.lower(), 17, 0)}};
  json tokens = json::array();
  int wrong = 0;
  for (const auto& d : decisions) {
    tokens.push_back({{"x", d.x}, {"model", d.model}, {"truth", d.truth},
                      {stat_name, {{"lower", to_decimal_string(d.stat.lower(), 17, -1)},
                                   {"upper", to_decimal_string(d.stat.upper(), 17, +1)}}},
                      {"decided", d.decided}});
    wrong += d.model != d.truth || !d.decided;
  }
  result["tokens"] = tokens;
  result["errors"] = wrong;
  return result;
}

json sweep_report(json result, const MatchSweepResult& sweep, int N, int M, bool tuples, const std::string& matched_name,
                  const std::string& unmatched_name) {
  result["cases"] = sweep.cases;
  result["fallback_cases"] = sweep.fallbacks;
  result["failing_cases"] = sweep.fails;
  result["undecided_cases"] = sweep.undecided;
  result[matched_name] = side_json(sweep.matched, N, M, tuples);
  result[unmatched_name] = side_json(sweep.unmatched, N, M, tuples);
  const MatchSideWorst* worst = &sweep.matched;
  if (!worst->any || (sweep.unmatched.any && sweep.unmatched.margin_lo < worst->margin_lo)) worst = &sweep.unmatched;
  if (sweep.has_fail) {
    const MatchFailingCase fc = failing_case(sweep);
    const auto& o = fc.outcome;
    result["worst"] = json{{"value", match_decimal(o.margin_hi, +1)}, {"lower", match_decimal(o.margin_lo, -1)},
                           {"upper", match_decimal(o.margin_hi, +1)},
                           {"witness", witness_json(sweep_witness(fc.index, N, M, tuples))}};
  } else if (worst->any) {
    result["worst"] = json{{"value", match_decimal(worst->margin_lo, -1)}, {"lower", match_decimal(worst->margin_lo, -1)},
                           {"upper", match_decimal(worst->margin_hi, +1)},
                           {"witness", witness_json(sweep_witness(worst->index, N, M, tuples))}};
  }
  result["bound"] = "0";
  return result;
}


}  // namespace attnbounds

namespace attnbounds {

json min_precision_scan(const std::string& claim, const std::string& mode, int p_lo, int p_hi,
                        const std::function<json(const Semantics&)>& check) {
  Stopwatch sw;
  auto sem_of = [&](int p) { return parse_semantics(mode + ":float:" + std::to_string(p)); };
  std::map<int, std::string> verdicts;
  json rows = json::array();
  json first;
  for (int p = p_lo; p <= p_hi; ++p) {
    json r = check(sem_of(p));
    verdicts[p] = r["verdict"].get<std::string>();
    json row{{"p", p}, {"verdict", verdicts[p]}, {"worst", r.value("worst", json::object()).value("value", "")}};
    rows.push_back(row);
    if (first.is_null()) first = r;
  }
  int p_star = -1;
  for (int p = p_hi; p >= p_lo && verdicts[p] == "holds"; --p) p_star = p;
  json islands = json::array();
  if (p_star > 0)
    for (int p = p_lo; p < p_star; ++p)
      if (verdicts[p] == "holds") islands.push_back(p);
  json formats;
  const std::pair<const char*, int> named[] = {{"bf16", 8}, {"fp16", 11}, {"fp32", 24}};
  for (const auto& [name, p] : named) {
    if (!verdicts.count(p)) verdicts[p] = check(sem_of(p))["verdict"].get<std::string>();
    formats[name] = verdicts[p];
  }
  json result = make_result("min-p", claim, first.value("theorem", ""), first.value("provenance", ""),
                            first.value("params", json::object()), mode + ":float:p");
  result["range"] = {p_lo, p_hi};
  result["p_star"] = p_star > 0 ? json(p_star) : json("none in range");
  result["non_monotone_islands"] = islands;
  result["formats"] = formats;
  result["scan"] = rows;
  Verdict v = p_star > 0 ? Verdict::Holds : Verdict::Fails;
  for (const auto& [p, s] : verdicts)
    if (p >= p_lo && p <= p_hi && s == "undecided" && (p_star < 0 || p >= p_star)) v = Verdict::Undecided;
  result["cases"] = p_hi - p_lo + 1;
  result["bound"] = std::to_string(p_hi);
  const std::string p_text = p_star > 0 ? std::to_string(p_star) : "none";
  result["worst"] = {{"value", p_text}, {"lower", p_text}, {"upper", p_text},
                     {"witness", {{"p_star_semantics", p_star > 0 ? mode + ":float:" + p_text : "none"}}}};
  finish_result(result, v, sw.seconds(), 0);
  return result;
}

}  // namespace attnbounds
