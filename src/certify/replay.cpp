#include "certify/replay.hpp"

#include <fstream>
#include <limits>
#include <stdexcept>

// The certificate is a documented file format (attnbounds-qsa-certificate-1, SPEC §6) that is
// JSON text: nlohmann-json serves here only as its parser, never to build a result.
#include <nlohmann/json.hpp>

#include "enumerate/combinatorics.hpp"
#include "enumerate/parallel.hpp"
#include "numeric/format.hpp"
#include "numeric/interval.hpp"

namespace attnbounds {

namespace {

using json = nlohmann::ordered_json;

Rational number_of(const json& v, const std::string& where) {
  try {
    if (v.is_string()) return parse_rational(v.get<std::string>());
    if (v.is_number_integer()) return Rational(v.dump());
  } catch (const std::exception&) {
  }
  throw std::invalid_argument("replay: " + where + " is not an exact decimal or p/q string");
}

// Enclosure of Σ_j |a_j − t_j| with a = softmax(scores), t = 1_S/q, at `bits`.
struct Enclosure {
  Rational lower, upper;
};
Enclosure row_enclosure(const std::vector<Rational>& scores, const std::vector<char>& member, int q,
                        mpfr_prec_t bits) {
  Rational top = scores[0];
  for (const auto& s : scores) top = s > top ? s : top;
  std::vector<Interval> w;
  Interval total(0L, bits);
  for (const auto& s : scores) {
    Interval e(Rational(s - top), bits);
    mpfi_exp(e.get(), e.get());
    total += e;
    w.push_back(e);
  }
  Interval err(0L, bits), target(Rational(1, q), bits);
  for (std::size_t j = 0; j < scores.size(); ++j) {
    Interval a = w[j] / total;
    if (member[j]) a -= target;
    mpfi_abs(a.get(), a.get());
    err += a;
  }
  Interval::Bounds b = err.widened_bounds();  // cheap even after an exp underflow
  return {b.lower, b.upper};
}

// max ‖round(z) − z‖ for unit z under embed:<fmt> (same rounding model as SPEC §2).
Rational value_rounding(const Semantics& sem, int d) {
  if (sem.kind == Semantics::Kind::Exact) return 0;
  mpz_class pow2 = 1;
  if (sem.format.kind == Format::Kind::Float) {
    pow2 <<= sem.format.P;
    return Rational(1) / Rational(pow2);
  }
  if (sem.format.kind == Format::Kind::Bounded) {  // u|x| + a per coordinate, |x| <= 1
    const RoundingErrorBound e = rounding_error_bound(sem.format);
    return e.relative + Rational(d) * e.absolute;
  }
  pow2 <<= (sem.format.F + 1);
  return Rational(d) / Rational(pow2);
}

struct Row {
  std::vector<int> S;  // 0-based
  std::vector<Rational> query;
};

struct Tally {
  std::uint64_t first_bad = std::numeric_limits<std::uint64_t>::max();
  bool any_fail = false;
  bool any_undecided = false;
  std::uint64_t worst = std::numeric_limits<std::uint64_t>::max();
  Rational worst_upper = -1, worst_lower = -1;
};

}  // namespace

namespace {

ReplayReport replay_qsa_certificate_unchecked(const std::string& path, unsigned threads) {
  std::ifstream is(path);
  if (!is) throw std::invalid_argument("replay: cannot read '" + path + "'");
  // Query entries are taken out while parsing (and dropped from the DOM): a certificate with
  // 635,376 subsets is 180 MB of text, and as a full DOM it needed over 16 GB.
  std::vector<Row> rows;
  json cert;
  try {
    cert = json::parse(is, [&](int depth, json::parse_event_t event, json& parsed) {
      if (depth == 2 && event == json::parse_event_t::object_end) {  // one element of "queries"
        Row r;
        for (const auto& sv : parsed.at("S")) r.S.push_back(sv.get<int>() - 1);
        for (const auto& v : parsed.at("query")) r.query.push_back(number_of(v, "query"));
        rows.push_back(std::move(r));
        return false;
      }
      return true;
    });
  } catch (const std::invalid_argument&) {
    throw;
  } catch (const std::exception& e) {
    throw std::invalid_argument(std::string("replay: malformed certificate (not JSON, or a query entry of the wrong shape): ") + e.what());
  }
  ReplayReport rep;
  for (const char* f : {"claim", "N", "q", "bound", "semantics", "keys", "queries"})
    if (!cert.contains(f)) throw std::invalid_argument(std::string("replay: certificate lacks field '") + f + "'");
  rep.claim = cert["claim"].get<std::string>();
  if (rep.claim != "qsa-cyclic" && rep.claim != "qsa-rip")
    throw std::invalid_argument("replay: claim must be qsa-cyclic or qsa-rip (got '" + rep.claim + "')");
  for (const char* f : {"N", "q"})
    if (!cert[f].is_number_integer()) throw std::invalid_argument(std::string("replay: ") + f + " must be an integer");
  if (cert.contains("d") && !cert["d"].is_number_integer()) throw std::invalid_argument("replay: d must be an integer");
  if (cert["N"].get<long long>() < 1 || cert["N"].get<long long>() > 100000)
    throw std::invalid_argument("replay: N must be in 1..100000");
  rep.N = cert["N"].get<int>();
  rep.q = cert["q"].get<int>();
  const int N = rep.N, q = rep.q, d = cert.value("d", 1);
  if (N < 1 || q < 1 || q > N) throw std::invalid_argument("replay: need 1 <= q <= N");
  if (d < 1 || d > 4096) throw std::invalid_argument("replay: d must be in 1..4096");
  rep.bound = number_of(cert["bound"], "bound");
  rep.semantics = cert["semantics"].get<std::string>();
  const Semantics sem = parse_semantics(rep.semantics);
  if (sem.kind != Semantics::Kind::Exact && sem.kind != Semantics::Kind::Embed)
    throw std::invalid_argument("replay: semantics must be exact or embed:<fmt>");
  const Rational slack = value_rounding(sem, d);

  const json& jk = cert["keys"];
  if (!jk.is_array() || static_cast<int>(jk.size()) != N) throw std::invalid_argument("replay: keys must hold N vectors");
  std::vector<std::vector<Rational>> keys;
  for (int j = 0; j < N; ++j) {
    std::vector<Rational> k;
    for (const auto& v : jk[j]) k.push_back(number_of(v, "keys[" + std::to_string(j) + "]"));
    if (!keys.empty() && k.size() != keys[0].size()) throw std::invalid_argument("replay: keys of unequal length");
    keys.push_back(std::move(k));
  }
  const std::size_t width = keys[0].size();

  const std::uint64_t total = binomial_saturating(N, q);
  if (!cert["queries"].is_array()) throw std::invalid_argument("replay: queries must be an array");
  // One flag per subset: a forged N, q with few queries must not allocate C(N, q) bytes.
  if (total > rows.size() && total > (std::uint64_t{1} << 27))
    throw std::invalid_argument("replay: C(N, q) = " + (total == UINT64_MAX ? std::string("more than 1.8e19")
                                                                           : std::to_string(total)) +
                                " subsets but only " + std::to_string(rows.size()) +
                                " queries: the certificate cannot cover every input");
  std::vector<char> seen(total, 0);
  for (const Row& r : rows) {
    for (std::size_t k = 0; k < r.S.size(); ++k)
      if (r.S[k] < 0 || r.S[k] >= N || (k > 0 && r.S[k] <= r.S[k - 1]))
        throw std::invalid_argument("replay: a subset S is not sorted, distinct and within 1..N");
    if (static_cast<int>(r.S.size()) != q) throw std::invalid_argument("replay: a subset S does not have q elements");
    if (r.query.size() != width) throw std::invalid_argument("replay: a query's length differs from the keys'");
    std::uint64_t rk = rank_subset(r.S, N);
    if (seen[rk]) throw std::invalid_argument("replay: a subset appears twice");
    seen[rk] = 1;
  }
  for (std::uint64_t rk = 0; rk < total; ++rk)
    if (!seen[rk]) {
      std::vector<int> S(q);
      unrank_subset(rk, N, q, S.data());
      std::string s;
      for (int k : S) s += std::to_string(k + 1) + " ";
      rep.problem = "subset { " + s + "} is missing: the certificate does not cover every input";
      rep.verdict = Verdict::Fails;
      return rep;
    }
  if (sem.kind == Semantics::Kind::Embed) {
    // Every embedded number must be representable in the format.
    auto check = [&](const Rational& v) {
      if (round_to(sem.format, v) != v)
        throw std::invalid_argument("replay: an entry is not representable in " + sem.format.name());
    };
    for (const auto& k : keys) for (const auto& v : k) check(v);
    for (const auto& r : rows) for (const auto& v : r.query) check(v);
  }
  rep.rows = rows.size();

  Tally t = parallel_reduce(
      rows.size(), threads, Tally{},
      [&](std::uint64_t b, std::uint64_t e, Tally& acc) {
        std::vector<Rational> scores(N);
        std::vector<char> member(N);
        for (std::uint64_t i = b; i < e; ++i) {
          const Row& r = rows[i];
          std::fill(member.begin(), member.end(), 0);
          for (int k : r.S) member[k] = 1;
          for (int j = 0; j < N; ++j) {
            Rational s = 0;
            for (std::size_t c = 0; c < width; ++c) s += r.query[c] * keys[j][c];
            scores[j] = s;
          }
          Enclosure enc{0, 0};
          int state = 0;  // 1 within bound, -1 above, 0 undecided
          for (mpfr_prec_t bits = 128; bits <= 4096 && state == 0; bits *= 2) {
            enc = row_enclosure(scores, member, q, bits);
            if (enc.upper + slack <= rep.bound) state = 1;
            else if (enc.lower > rep.bound) state = -1;
          }
          if (state != 1 && i < acc.first_bad) acc.first_bad = i;
          acc.any_fail = acc.any_fail || state == -1;
          acc.any_undecided = acc.any_undecided || state == 0;
          if (enc.upper + slack > acc.worst_upper) {
            acc.worst_upper = enc.upper + slack;
            acc.worst_lower = enc.lower;
            acc.worst = i;
          }
        }
      },
      [](Tally& acc, Tally&& p) {
        if (p.first_bad < acc.first_bad) acc.first_bad = p.first_bad;
        acc.any_fail = acc.any_fail || p.any_fail;
        acc.any_undecided = acc.any_undecided || p.any_undecided;
        if (p.worst_upper > acc.worst_upper) {
          acc.worst_upper = p.worst_upper;
          acc.worst_lower = p.worst_lower;
          acc.worst = p.worst;
        }
      });
  rep.verdict = t.any_fail ? Verdict::Fails : t.any_undecided ? Verdict::Undecided : Verdict::Holds;
  if (t.worst < rows.size()) {
    rep.worst_upper = t.worst_upper;
    rep.worst_lower = t.worst_lower;
    for (int k : rows[t.worst].S) rep.worst_S.push_back(k + 1);
  }
  if (t.first_bad < rows.size())
    for (int k : rows[t.first_bad].S) rep.first_bad_S.push_back(k + 1);
  return rep;
}

}  // namespace

ReplayReport replay_qsa_certificate(const std::string& path, unsigned threads) {
  try {
    return replay_qsa_certificate_unchecked(path, threads);
  } catch (const nlohmann::json::exception& e) {
    // A field of the wrong JSON type is a malformed certificate (bad input), not an internal error.
    throw std::invalid_argument(std::string("replay: malformed certificate: ") + e.what());
  }
}

}  // namespace attnbounds
