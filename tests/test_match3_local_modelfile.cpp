// Model files of class match3-local (the hinted and window Match3 constructions): the exported
// construction checks exactly like the built-in one (verdict, cases, worst enclosure, witness), a
// perturbed value table fails with a witness this test re-verifies by its own forward pass, and
// malformed files are refused with exit 2 naming the field.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <cstdio>
#include <string>

#include "cli_runner.hpp"
#include "core/config_error.hpp"
#include "enumerate/combinatorics.hpp"
#include "modelfile/match3_local_model.hpp"
#include "proofs/match3_local.hpp"

using namespace attnbounds;
using attnbounds_test::run_attnbounds;
using nlohmann::json;

namespace {

std::string temp_path(const std::string& stem) {
  return "/tmp/attnbounds_test_" + std::to_string(::getpid()) + "_" + stem;
}

Match3LocalModel reread(const Match3LocalModel& m) {
  const std::vector<unsigned char> bytes = serialize_safetensors(match3_local_model_file(m));
  return match3_local_model_from("m.st", parse_safetensors("m.st", bytes.data(), bytes.size()));
}

void require_same(const Match3LocalResult& a, const Match3LocalResult& b) {
  CHECK(a.verdict == b.verdict);
  CHECK(a.rows == b.rows);
  CHECK(a.decoder_multisets == b.decoder_multisets);
  CHECK(a.decoder_failures == b.decoder_failures);
  CHECK(a.fallback_rows == b.fallback_rows);
  CHECK(a.worst_lower == b.worst_lower);
  CHECK(a.worst_upper == b.worst_upper);
  CHECK(a.worst_hints == b.worst_hints);
  REQUIRE(a.witness.has_value() == b.witness.has_value());
  if (a.witness) {
    CHECK(a.witness->x == b.witness->x);
    CHECK(a.witness->y == b.witness->y);
    CHECK(a.witness->token == b.witness->token);
    CHECK(a.witness->model == b.witness->model);
    CHECK(a.witness->truth == b.witness->truth);
  }
}

// This test's own forward pass of a match3-local model on (x, y) at token i, in long double:
// softmax over ⟨query row of y_i, key_j⟩, out_k = Σ_j a_j value_table[x_j][k], ψ rounds q·out_k and
// decodes the multiset by trying every multiset of q values in [M] (no Newton's identities).
// Returns ψ's answer (0 when no multiset has those power sums); `margin` the smallest distance of
// q·out_k from a half-integer (the rounding is trustworthy when it is large).
int own_forward(const Match3LocalModel& m, const std::vector<int>& x, const std::vector<std::vector<int>>& y, int i,
                long double& margin) {
  const int N = m.N, K = m.K, q = m.q;
  std::uint64_t row = 0;
  if (m.window) row = static_cast<std::uint64_t>(i);
  else row = rank_subset(y[static_cast<std::size_t>(i)], N);
  std::vector<long double> s(static_cast<std::size_t>(N));
  long double top = -1e4000L;
  for (int j = 0; j < N; ++j) {
    long double acc = 0;
    for (int r = 0; r < K; ++r)
      acc += static_cast<long double>(m.queries[row * K + r].get_d()) * static_cast<long double>(m.keys[j * K + r].get_d());
    s[static_cast<std::size_t>(j)] = acc;
    top = std::max(top, acc);
  }
  long double den = 0;
  for (auto v : s) den += std::exp(v - top);
  std::vector<long long> P(static_cast<std::size_t>(q));
  margin = 1;
  for (int k = 0; k < q; ++k) {
    long double out = 0;
    for (int j = 0; j < N; ++j)
      out += std::exp(s[static_cast<std::size_t>(j)] - top) / den *
             static_cast<long double>(m.values[static_cast<std::size_t>(x[static_cast<std::size_t>(j)] * q + k)].get_d());
    const long double scaled = q * out;
    P[static_cast<std::size_t>(k)] = std::llround(scaled);
    margin = std::min(margin, 0.5L - std::fabs(scaled - std::nearbyint(scaled)));
  }
  std::vector<int> ms(static_cast<std::size_t>(q), 0);
  do {
    bool same = true;
    for (int k = 0; k < q && same; ++k) {
      long long sum = 0;
      for (int v : ms) {
        long long p = 1;
        for (int e = 0; e <= k; ++e) p *= v;
        sum += p;
      }
      same = sum == P[static_cast<std::size_t>(k)];
    }
    if (same) {
      for (int a : ms)
        for (int b : ms)
          if ((x[static_cast<std::size_t>(i)] + a + b) % m.M == 0) return 1;
      return 0;
    }
  } while (next_multiset(ms.data(), q, m.M));
  return 0;
}

int own_truth(const std::vector<int>& x, const std::vector<int>& hints, int i, int M) {
  for (int a : hints)
    for (int b : hints)
      if ((x[static_cast<std::size_t>(i)] + x[static_cast<std::size_t>(a)] + x[static_cast<std::size_t>(b)]) % M == 0) return 1;
  return 0;
}

}  // namespace

TEST_CASE("match3-local files: the exported construction checks exactly like the built-in check", "[modelfile][match][match3-local]") {
  struct Case {
    Match3LocalConfig cfg;
    Verdict expected;
  };
  const std::vector<Case> cases = {
      {{false, 8, 8, 2, std::nullopt, Semantics{}}, Verdict::Holds},
      {{false, 8, 8, 2, Rational(2), Semantics{}}, Verdict::Fails},  // too small a temperature: a row fails
      {{false, 8, 8, 3, std::nullopt, parse_semantics("embed:bf16")}, Verdict::Fails},
      {{false, 8, 8, 3, std::nullopt, parse_semantics("embed:fp32")}, Verdict::Holds},
      {{false, 8, 8, 2, std::nullopt, parse_semantics("arith:float:24")}, Verdict::Holds},
      {{false, 8, 8, 3, std::nullopt, parse_semantics("arith:float:8")}, Verdict::Fails},
      {{true, 8, 8, 3, std::nullopt, Semantics{}}, Verdict::Holds},
      {{true, 8, 8, 3, Rational(1, 16), Semantics{}}, Verdict::Fails},
      {{true, 8, 8, 3, std::nullopt, parse_semantics("arith:float:24")}, Verdict::Holds},
      {{true, 8, 8, 3, std::nullopt, parse_semantics("embed:bf16")}, Verdict::Fails},
  };
  for (const auto& [cfg, expected] : cases) {
    INFO((cfg.window ? "window" : "hinted") << " N=" << cfg.N << " q=" << cfg.q << " " << cfg.semantics.name());
    const Match3LocalResult builtin = check_match3_local(cfg, 0, false);
    REQUIRE(builtin.verdict == expected);
    const Rational c = cfg.c ? *cfg.c : match3_local_default_temperature(cfg.N, cfg.M, cfg.q);
    const Match3LocalModel file = reread(match3_local_model_of_construction(cfg, c));
    CHECK(file.window == cfg.window);
    CHECK(file.K == 2 * cfg.q);
    CHECK(file.query_rows() == (cfg.window ? 8u : binomial(8, cfg.q)));
    const Match3LocalResult from_file = check_match3_local_unit(match3_local_unit_of(file), cfg.semantics, 0, false);
    require_same(builtin, from_file);
    CHECK(from_file.m == 1 + cfg.q + 4 * cfg.q);  // the construction's m = 5q + 1
  }
}

TEST_CASE("match3-local files: a perturbed value table fails with a witness an independent forward pass confirms",
          "[modelfile][match][match3-local]") {
  for (bool window : {false, true}) {
    INFO((window ? "window" : "hinted"));
    Match3LocalConfig cfg{window, 7, 6, 2, std::nullopt, Semantics{}};
    const Rational c = match3_local_default_temperature(cfg.N, cfg.M, cfg.q);
    Match3LocalModel m = match3_local_model_of_construction(cfg, c);
    REQUIRE(check_match3_local_unit(match3_local_unit_of(reread(m)), Semantics{}, 0, false).verdict == Verdict::Holds);
    // enc_1(M−1) = M−1 becomes M: a hint set holding a token M−1 decodes wrong power sums.
    m.values[static_cast<std::size_t>((cfg.M - 1) * cfg.q)] = Rational(cfg.M);
    const Match3LocalModel file = reread(m);
    const Match3LocalResult r = check_match3_local_unit(match3_local_unit_of(file), Semantics{}, 0, false);
    REQUIRE(r.verdict == Verdict::Fails);
    REQUIRE(r.witness.has_value());
    CHECK(r.worst_lower >= 0.5);  // ρ_1 = 1: the decode-error bound q·ρ_1 alone is 2
    const auto& w = *r.witness;
    long double margin = 0;
    const int model = own_forward(file, w.x, w.y, w.token, margin);
    CHECK(margin > 0.1L);
    CHECK(model == w.model);
    CHECK(own_truth(w.x, w.y[static_cast<std::size_t>(w.token)], w.token, cfg.M) == w.truth);
    CHECK(model != w.truth);
    // The unperturbed construction gets the same input right.
    const Match3LocalModel clean = reread(match3_local_model_of_construction(cfg, c));
    CHECK(own_forward(clean, w.x, w.y, w.token, margin) == w.truth);
  }
}

TEST_CASE("match3-local files: a value table perturbed at a middle value fails with a verified witness",
          "[modelfile][match][match3-local]") {
  // enc_1(2) = 2 becomes M + 3, the largest entry of its slot: only inputs holding the value 2
  // decode wrong power sums, so the witness search must try the table's own extreme values (the
  // construction's are 0 and M − 1, where this table is right).
  for (bool window : {false, true}) {
    INFO((window ? "window" : "hinted"));
    Match3LocalConfig cfg{window, 7, 6, 2, std::nullopt, Semantics{}};
    const Rational c = match3_local_default_temperature(cfg.N, cfg.M, cfg.q);
    Match3LocalModel m = match3_local_model_of_construction(cfg, c);
    m.values[static_cast<std::size_t>(2 * cfg.q)] = Rational(cfg.M + 3);
    const Match3LocalModel file = reread(m);
    const Match3LocalResult r = check_match3_local_unit(match3_local_unit_of(file), Semantics{}, 0, false);
    REQUIRE(r.verdict == Verdict::Fails);
    REQUIRE(r.witness.has_value());
    const auto& w = *r.witness;
    CHECK(std::find(w.x.begin(), w.x.end(), 2) != w.x.end());
    long double margin = 0;
    const int model = own_forward(file, w.x, w.y, w.token, margin);
    CHECK(margin > 0.1L);
    CHECK(model == w.model);
    CHECK(own_truth(w.x, w.y[static_cast<std::size_t>(w.token)], w.token, cfg.M) == w.truth);
    CHECK(model != w.truth);
  }
}

TEST_CASE("CLI: export match3-hinted|window, check/eval --model give the built-in JSON", "[modelfile][match][match3-local][cli]") {
  const std::string path = temp_path("m3l.st");
  struct Run {
    std::string export_args, check_builtin, check_flags;
  };
  const std::vector<Run> runs = {
      {"export match3-hinted --N 8 --M 8 --q 2", "check match3-hinted --N 8 --M 8 --q 2", ""},
      {"export match3-hinted --N 8 --M 8 --q 2 --c 2", "check match3-hinted --N 8 --M 8 --q 2 --c 2", ""},
      {"export match3-hinted --N 8 --M 8 --q 3", "check match3-hinted --N 8 --M 8 --q 3", " --semantics embed:bf16"},
      {"export match3-window --N 8 --M 8 --w 3", "check match3-window --N 8 --M 8 --w 3", ""},
      {"export match3-window --N 8 --M 8 --w 3 --c 1/16", "check match3-window --N 8 --M 8 --w 3 --c 1/16", ""},
      {"export match3-window --N 8 --M 8 --w 3", "check match3-window --N 8 --M 8 --w 3", " --semantics arith:float:8"},
  };
  for (const auto& run : runs) {
    INFO(run.export_args << run.check_flags);
    REQUIRE(run_attnbounds(run.export_args + " --out " + path, 60, true).status == 0);
    const bool window = run.export_args.find("window") != std::string::npos;
    const std::string claim = window ? "match3-window" : "match3-hinted";
    const auto b = run_attnbounds(run.check_builtin + run.check_flags + " --json", 120, true);
    const auto f = run_attnbounds("check " + claim + " --model " + path + run.check_flags + " --json", 120, true);
    CHECK(f.status == b.status);
    const json bj = json::parse(b.out), fj = json::parse(f.out);
    CHECK(fj["verdict"] == bj["verdict"]);
    CHECK(fj["cases"] == bj["cases"]);
    CHECK(fj["worst"] == bj["worst"]);  // value, lower, upper and the witness (hints, or x, y, token)
    CHECK(fj["rows_checked"] == bj["rows_checked"]);
    CHECK(fj["m"] == bj["m"]);
    CHECK(fj["params"]["class"] == "match3-local");
    CHECK(fj["params"]["model"] == path);
    CHECK(fj["structure"].get<std::string>().find("power-sum decoder") != std::string::npos);
    if (bj["verdict"] == "fails") {
      // eval --model on the witness decides every token as the built-in eval.
      const auto& wit = bj["worst"]["witness"];
      std::string xs, hs;
      for (const auto& v : wit["x"]) xs += (xs.empty() ? "" : ",") + v.dump();
      for (const auto& s : wit["y"]) {
        std::string one;
        for (const auto& j : s) one += (one.empty() ? "" : " ") + j.dump();
        hs += (hs.empty() ? "" : "|") + one;
      }
      const std::string input = " --input " + xs + (window ? "" : " --hints \"" + hs + "\"");
      const std::string sem = run.check_flags;
      const std::string tail = run.check_builtin.substr(run.check_builtin.find(" --M"));
      const auto be = run_attnbounds("eval " + claim + input + tail + sem + " --json", 60, true);
      const auto fe = run_attnbounds("eval " + claim + " --model " + path + input + sem + " --json", 60, true);
      CHECK(fe.status == 1);
      CHECK(be.status == 1);
      const json bej = json::parse(be.out), fej = json::parse(fe.out);
      CHECK(fej["tokens"] == bej["tokens"]);
      CHECK(fej["errors"] == bej["errors"]);
    }
  }
  std::remove(path.c_str());
}

TEST_CASE("CLI: malformed match3-local files and mismatched commands exit 2 naming the field", "[modelfile][match3-local][cli]") {
  const std::string path = temp_path("bad_m3l.st");
  const Match3LocalConfig cfg{false, 5, 4, 2, std::nullopt, Semantics{}};
  const Match3LocalModel good = match3_local_model_of_construction(cfg, match3_local_default_temperature(5, 4, 2));
  struct Bad {
    std::string what, field;
    std::function<void(SafetensorsFile&)> edit;
  };
  const std::vector<Bad> bad = {
      {"psi", "__metadata__.psi", [](SafetensorsFile& f) { f.metadata["psi"] = "norm"; }},
      {"psi_scale", "__metadata__.psi_scale", [](SafetensorsFile& f) { f.metadata["psi_scale"] = "3"; }},
      {"hints", "__metadata__.hints", [](SafetensorsFile& f) { f.metadata["hints"] = "some"; }},
      {"q above 6", "__metadata__.q", [](SafetensorsFile& f) { f.metadata["q"] = "7"; }},
      {"N above 24", "__metadata__.N", [](SafetensorsFile& f) { f.metadata["N"] = "25"; }},
      {"class", "__metadata__.class", [](SafetensorsFile& f) { f.metadata["class"] = "match2-table"; }},
      {"heads", "__metadata__.heads", [](SafetensorsFile& f) { f.metadata["heads"] = "2"; }},
      {"value shape", "tensor 'value_table'.shape",
       [](SafetensorsFile& f) { add_exact_tensor(f, "value_table", {4, 3}, std::vector<Rational>(12, Rational(1))); }},
      {"query rows", "tensor 'query_table'.shape",
       [](SafetensorsFile& f) { add_exact_tensor(f, "query_table", {9, 4}, std::vector<Rational>(36, Rational(1))); }},
      {"key width", "tensor 'key_table'.shape",
       [](SafetensorsFile& f) { add_exact_tensor(f, "key_table", {5, 65}, std::vector<Rational>(325, Rational(1))); }},
      {"unknown tensor", "tensor 'psi_weights'", [](SafetensorsFile& f) { f.tensors["psi_weights"] = f.tensors["key_table"]; }},
      {"missing values", "tensor 'value_table'", [](SafetensorsFile& f) {
         f.tensors.erase("value_table");
         f.tensors.erase("value_table.exact");
       }},
  };
  for (const auto& b : bad) {
    INFO(b.what);
    SafetensorsFile f = match3_local_model_file(good);
    b.edit(f);
    std::vector<unsigned char> bytes;
    try {
      bytes = serialize_safetensors(f);
    } catch (const std::exception&) {
      continue;  // an edit the writer itself refuses is not a file
    }
    {
      std::FILE* out = std::fopen(path.c_str(), "wb");
      REQUIRE(out);
      std::fwrite(bytes.data(), 1, bytes.size(), out);
      std::fclose(out);
    }
    const auto r = run_attnbounds("check match3-hinted --model " + path, 60, true);
    CHECK(r.status == 2);
    CHECK(r.err.find(b.field) != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.out.empty());
  }
  // A window file under check match3-hinted, and construction flags beside --model.
  REQUIRE(run_attnbounds("export match3-window --N 5 --M 4 --w 2 --out " + path, 60, true).status == 0);
  const auto wrong = run_attnbounds("check match3-hinted --model " + path, 60, true);
  CHECK(wrong.status == 2);
  CHECK(wrong.err.find("__metadata__.hints") != std::string::npos);
  CHECK(wrong.err.find("match3-window") != std::string::npos);
  const auto both = run_attnbounds("check match3-window --model " + path + " --N 5", 60, true);
  CHECK(both.status == 2);
  CHECK(both.err.find("--model") != std::string::npos);
  const auto count = run_attnbounds("eval match3-window --model " + path + " --input 1,2,3", 60, true);
  CHECK(count.status == 2);
  CHECK(count.err.find("N = 5") != std::string::npos);
  // export's own bounds.
  const auto big_q = run_attnbounds("export match3-window --N 5 --M 4 --w 5 --out " + path, 60, true);
  CHECK(big_q.status == 2);
  CHECK(big_q.err.find("--w") != std::string::npos);
  // A third-order file is not a match3-local file.
  REQUIRE(run_attnbounds("export match3-third-order --N 3 --M 4 --out " + path, 60, true).status == 0);
  const auto other = run_attnbounds("check match3-window --model " + path, 60, true);
  CHECK(other.status == 2);
  CHECK(other.err.find("__metadata__.class") != std::string::npos);
  std::remove(path.c_str());
}

TEST_CASE("match3-local: bounded mutation run over an exported file never crashes or misreads", "[modelfile][match3-local]") {
  for (const bool window : {false, true}) {
    const Match3LocalConfig cfg{window, 5, 6, 2, std::nullopt, Semantics{}};
    const std::vector<unsigned char> seed =
        serialize_safetensors(match3_local_model_file(match3_local_model_of_construction(cfg, Rational(12))));
    std::mt19937_64 rng(window ? 5318 : 5317);
    int parsed = 0, refused = 0;
    for (int iter = 0; iter < 1500; ++iter) {
      std::vector<unsigned char> b = seed;
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits; ++e) {
        const std::size_t at = rng() % b.size();
        switch (rng() % 4) {
          case 0: b[at] ^= static_cast<unsigned char>(1u << (rng() % 8)); break;
          case 1: b[at] = static_cast<unsigned char>("0123456789[]{},:\"-/ wdoshl."[rng() % 28]); break;
          case 2: b.resize(at + 1); break;
          default: b.insert(b.begin() + at, static_cast<unsigned char>(rng())); break;
        }
      }
      try {
        const Match3LocalModel back = match3_local_model_from("mut", parse_safetensors("mut", b.data(), b.size()));
        CHECK(back.keys.size() == static_cast<std::size_t>(back.N * back.K));
        CHECK(back.queries.size() == back.query_rows() * static_cast<std::uint64_t>(back.K));
        CHECK(back.values.size() == static_cast<std::size_t>(back.M * back.q));
        ++parsed;
      } catch (const ModelFileError&) {
        ++refused;
      }
    }
    CHECK(parsed + refused == 1500);
    CHECK(refused > 1000);
  }
}
