#include "certify/certificate_reader.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <set>
#include <stdexcept>

#include "enumerate/combinatorics.hpp"
#include "numeric/format.hpp"

namespace attnbounds {

namespace {

using json = nlohmann::json;

constexpr const char* kFormatName = "attnbounds-qsa-certificate-1";
constexpr int kMaxN = 100000;
constexpr int kMaxD = 4096;
constexpr std::size_t kMaxNumberChars = 100000;
// Top-level fields, all required.
const std::set<std::string>& top_fields() {
  static const std::set<std::string> f = {"format", "claim", "N", "q", "d", "m", "bound", "semantics",
                                          "temperature", "values", "keys", "queries"};
  return f;
}

[[noreturn]] void reject(const std::string& what) { throw std::invalid_argument("replay: malformed certificate: " + what); }

// An integer of JSON integer type (not a float, not a boolean) in lo..hi, without wrap-around.
long long exact_int(const json& v, const std::string& name, long long lo, long long hi) {
  const std::string range = name + " must be an integer in " + std::to_string(lo) + ".." + std::to_string(hi);
  if (!v.is_number_integer()) reject(range);
  if (v.is_number_unsigned()) {
    const std::uint64_t u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(hi)) reject(range + " (got " + std::to_string(u) + ")");
    if (static_cast<long long>(u) < lo) reject(range + " (got " + std::to_string(u) + ")");
    return static_cast<long long>(u);
  }
  const std::int64_t s = v.get<std::int64_t>();
  if (s < lo || s > hi) reject(range + " (got " + std::to_string(s) + ")");
  return s;
}

bool all_digits(const std::string& t, std::size_t b, std::size_t e) {
  if (b >= e) return false;
  for (std::size_t i = b; i < e; ++i)
    if (t[i] < '0' || t[i] > '9') return false;
  return true;
}

// "-12.5", "3e-4", "7/16": an exact decimal (optional fraction, exponent of at most 4 digits) or
// p/q with a non-zero q.  No '+', no spaces, no hex, no inf/nan.
Rational exact_number(const json& v, const std::string& where) {
  if (!v.is_string()) reject(where + " must be a string holding an exact decimal or p/q");
  const std::string& t = v.get_ref<const std::string&>();
  if (t.size() > kMaxNumberChars) reject(where + " has more than " + std::to_string(kMaxNumberChars) + " characters");
  const std::size_t b = !t.empty() && t[0] == '-' ? 1 : 0;
  bool ok = false;
  const std::size_t slash = t.find('/');
  if (slash != std::string::npos) {
    ok = all_digits(t, b, slash) && all_digits(t, slash + 1, t.size()) &&
         t.find_first_not_of('0', slash + 1) != std::string::npos;
  } else {
    std::size_t e = t.find_first_of("eE");
    const std::size_t mant_end = e == std::string::npos ? t.size() : e;
    const std::size_t dot = t.find('.', b);
    if (dot != std::string::npos && dot < mant_end)
      ok = all_digits(t, b, dot) && all_digits(t, dot + 1, mant_end);
    else
      ok = all_digits(t, b, mant_end);
    if (ok && e != std::string::npos) {
      std::size_t x = e + 1;
      if (x < t.size() && t[x] == '-') ++x;
      ok = all_digits(t, x, t.size()) && t.size() - x <= 4;
    }
  }
  if (!ok) reject(where + " is not an exact decimal or p/q string (got '" + t.substr(0, 40) + "')");
  try {
    return parse_rational(t);
  } catch (const std::exception&) {
    reject(where + " is not an exact decimal or p/q string (got '" + t.substr(0, 40) + "')");
  }
}

std::vector<Rational> number_vector(const json& v, const std::string& where) {
  if (!v.is_array()) reject(where + " must be an array of numbers");
  std::vector<Rational> out;
  out.reserve(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) out.push_back(exact_number(v[i], where + "[" + std::to_string(i) + "]"));
  return out;
}

const std::string& exact_string(const json& v, const std::string& name) {
  if (!v.is_string()) reject(name + " must be a string");
  return v.get_ref<const std::string&>();
}

}  // namespace

QsaCertificate read_qsa_certificate(std::istream& in) {
  QsaCertificate cert;
  std::string top_key;                 // the current top-level key
  std::set<std::string> seen_top, seen_row;
  std::uint64_t row_index = 0;
  json doc;
  using E = json::parse_event_t;
  try {
    doc = json::parse(in, [&](int depth, E event, json& parsed) {
      switch (event) {
        case E::key:
          if (depth == 1) {
            top_key = parsed.get<std::string>();
            if (!top_fields().count(top_key)) reject("unknown field '" + top_key.substr(0, 40) + "'");
            if (!seen_top.insert(top_key).second) reject("field '" + top_key + "' appears twice");
          } else if (depth == 3) {
            const std::string k = parsed.get<std::string>();
            if (k != "S" && k != "query") reject("queries[" + std::to_string(row_index) + "] has unknown field '" + k.substr(0, 40) + "'");
            if (!seen_row.insert(k).second) reject("queries[" + std::to_string(row_index) + "] repeats '" + k + "'");
          }
          return true;
        case E::object_start:
          if (depth == 0) return true;
          if (depth == 2 && top_key == "queries") {
            seen_row.clear();
            return true;
          }
          reject(depth == 1 ? "field '" + top_key + "' must not be an object" : "an object where none belongs (in '" + top_key + "')");
        case E::array_start:
          if ((depth == 1 && (top_key == "keys" || top_key == "queries")) || (depth == 2 && top_key == "keys") ||
              (depth == 3 && top_key == "queries"))
            return true;
          reject(depth == 0 ? "the file must be one JSON object" : "an array where none belongs (in '" + top_key + "')");
        case E::value:
          if (depth == 0) reject("the file must be one JSON object");
          if (depth == 2) reject(top_key == "queries" ? "every element of queries must be an object {\"S\", \"query\"}"
                                                      : "every element of keys must be an array of numbers");
          if (depth == 3 && top_key == "queries")
            reject("queries[" + std::to_string(row_index) + "]: S and query must be arrays");
          return true;
        case E::object_end:
          if (depth == 2) {  // one element of "queries": converted now, dropped from the tree
            const std::string where = "queries[" + std::to_string(row_index) + "]";
            if (!parsed.contains("S") || !parsed.contains("query")) reject(where + " needs both \"S\" and \"query\"");
            QsaCertificateRow r;
            const json& S = parsed["S"];
            r.S.reserve(S.size());
            for (const auto& sv : S) r.S.push_back(static_cast<int>(exact_int(sv, where + ".S entries", 1, kMaxN)) - 1);
            r.query = number_vector(parsed["query"], where + ".query");
            cert.rows.push_back(std::move(r));
            ++row_index;
            return false;
          }
          return true;
        case E::array_end:
          return true;
      }
      return true;
    });
  } catch (const json::exception& e) {
    reject(std::string("not JSON (") + e.what() + ")");
  }
  if (!doc.is_object()) reject("the file must be one JSON object");
  for (const auto& f : top_fields())
    if (!doc.contains(f)) reject("field '" + f + "' is missing");

  if (exact_string(doc["format"], "format") != kFormatName) reject(std::string("format must be \"") + kFormatName + "\"");
  cert.claim = exact_string(doc["claim"], "claim");
  if (cert.claim != "qsa-cyclic" && cert.claim != "qsa-rip") reject("claim must be qsa-cyclic or qsa-rip");
  cert.N = static_cast<int>(exact_int(doc["N"], "N", 1, kMaxN));
  cert.q = static_cast<int>(exact_int(doc["q"], "q", 1, cert.N));
  cert.d = static_cast<int>(exact_int(doc["d"], "d", 1, kMaxD));
  cert.m = static_cast<int>(exact_int(doc["m"], "m", 1, 1LL << 30));
  cert.bound = exact_number(doc["bound"], "bound");
  if (cert.bound <= 0 || cert.bound >= 1) reject("bound must lie in (0, 1)");
  cert.semantics = exact_string(doc["semantics"], "semantics");
  Semantics sem;
  try {
    sem = parse_semantics(cert.semantics);
  } catch (const std::exception& e) {
    reject(std::string("semantics: ") + e.what());
  }
  if (sem.kind != Semantics::Kind::Exact && sem.kind != Semantics::Kind::Embed) reject("semantics must be exact or embed:<fmt>");
  cert.temperature = exact_number(doc["temperature"], "temperature");
  if (cert.temperature <= 0) reject("temperature must be > 0");
  exact_string(doc["values"], "values");

  const json& jk = doc["keys"];
  if (!jk.is_array() || jk.size() != static_cast<std::size_t>(cert.N)) reject("keys must hold exactly N = " + std::to_string(cert.N) + " vectors");
  for (int j = 0; j < cert.N; ++j) {
    cert.keys.push_back(number_vector(jk[static_cast<std::size_t>(j)], "keys[" + std::to_string(j) + "]"));
    if (cert.keys.back().empty()) reject("keys[" + std::to_string(j) + "] is empty");
    if (cert.keys.back().size() != cert.keys[0].size()) reject("keys[" + std::to_string(j) + "] differs in length from keys[0]");
  }
  const std::size_t width = cert.keys[0].size();
  if (static_cast<long long>(cert.m) != cert.d + 2 * static_cast<long long>(width))
    reject("m = " + std::to_string(cert.m) + " but d + 2 * (key width) = " + std::to_string(cert.d + 2 * static_cast<long long>(width)));
  // The rows were removed from the tree while parsing; anything left there is not a row.
  if (!doc["queries"].is_array() || !doc["queries"].empty()) reject("queries must be an array of {\"S\", \"query\"} objects");

  const std::uint64_t total = binomial_saturating(cert.N, cert.q);
  if (total != cert.rows.size())
    reject("C(N, q) = " + (total == UINT64_MAX ? std::string("more than 1.8e19") : std::to_string(total)) + " subsets but " +
           std::to_string(cert.rows.size()) + " queries: every subset must occur exactly once");
  std::vector<char> seen(total, 0);
  for (std::size_t i = 0; i < cert.rows.size(); ++i) {
    const auto& r = cert.rows[i];
    const std::string where = "queries[" + std::to_string(i) + "]";
    if (r.S.size() != static_cast<std::size_t>(cert.q)) reject(where + ".S must have q = " + std::to_string(cert.q) + " elements");
    for (std::size_t k = 0; k < r.S.size(); ++k)
      if (r.S[k] >= cert.N || (k > 0 && r.S[k] <= r.S[k - 1]))
        reject(where + ".S must be strictly increasing within 1..N = 1.." + std::to_string(cert.N));
    if (r.query.size() != width) reject(where + ".query has " + std::to_string(r.query.size()) + " entries, the keys " + std::to_string(width));
    const std::uint64_t rk = rank_subset(r.S, cert.N);
    if (seen[rk]) reject(where + ": its subset S occurs twice");
    seen[rk] = 1;
  }
  if (sem.kind == Semantics::Kind::Embed) {
    auto check = [&](const Rational& v, const std::string& where) {
      if (round_to(sem.format, v) != v) reject(where + " is not representable in " + sem.format.name());
    };
    for (int j = 0; j < cert.N; ++j)
      for (const auto& v : cert.keys[static_cast<std::size_t>(j)]) check(v, "an entry of keys[" + std::to_string(j) + "]");
    for (std::size_t i = 0; i < cert.rows.size(); ++i)
      for (const auto& v : cert.rows[i].query) check(v, "an entry of queries[" + std::to_string(i) + "].query");
  }
  return cert;
}

}  // namespace attnbounds
