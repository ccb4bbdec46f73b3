// Model files: the safetensors reader/writer (known encodings, strict refusal of bad files, a
// bounded mutation run over a file the toolkit wrote) and the qsa-table class (the exported
// constructions checked from a file give the built-in verdict, witness and worst case).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <unistd.h>

#include "certify/qsa_checker.hpp"
#include "cli_runner.hpp"
#include "enumerate/combinatorics.hpp"
#include "modelfile/qsa_model.hpp"
#include "modelfile/safetensors.hpp"
#include "proofs/theorem2_qsa_rip.hpp"
#include "proofs/theorem3_qsa_cyclic.hpp"

using namespace attnbounds;

namespace {

std::vector<unsigned char> raw_file(const std::string& header, const std::vector<unsigned char>& data) {
  std::vector<unsigned char> out(8);
  const std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<unsigned char>(n >> (8 * i));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// The field named in the error of parsing these bytes ("" when they parse).
std::string error_field(const std::vector<unsigned char>& bytes) {
  try {
    parse_safetensors("f.st", bytes.data(), bytes.size());
  } catch (const ModelFileError& e) {
    CHECK(std::string(e.what()).find('\n') == std::string::npos);
    CHECK(std::string(e.what()).rfind("f.st: ", 0) == 0);
    return e.field();
  }
  return "";
}

std::uint64_t bits_of(const Tensor& t, std::size_t i) {
  std::uint64_t v = 0;
  for (std::size_t b = 0; b < dtype_size(t.dtype); ++b) v |= std::uint64_t(t.bytes[i * dtype_size(t.dtype) + b]) << (8 * b);
  return v;
}

std::string temp_path(const std::string& stem) {
  return "/tmp/attnbounds_test_" + std::to_string(::getpid()) + "_" + stem;
}

QsaEmbeddingParams qparams(int N, int q, std::optional<Rational> c = std::nullopt) {
  QsaEmbeddingParams p;
  p.N = N;
  p.q = q;
  p.c = c;
  return p;
}

QsaCheckResult check(const QsaEmbedding& e, const std::string& sem = "exact") {
  QsaCheckOptions o;
  o.eps = Rational(1, 10);
  o.semantics = parse_semantics(sem);
  o.threads = 2;
  return check_qsa(e, o);
}

}  // namespace

TEST_CASE("safetensors: known encodings of F32, BF16, F16 (nearest, ties to even)", "[modelfile]") {
  Tensor f32 = make_float_tensor("f", "t", DType::F32, {3}, {1.0, -2.0, 0.1});
  CHECK(bits_of(f32, 0) == 0x3F800000u);
  CHECK(bits_of(f32, 1) == 0xC0000000u);
  CHECK(bits_of(f32, 2) == 0x3DCCCCCDu);  // 0.1f
  Tensor bf = make_float_tensor("f", "t", DType::BF16, {2}, {1.0, 1.0 + std::ldexp(1.0, -8)});
  CHECK(bits_of(bf, 0) == 0x3F80u);
  CHECK(bits_of(bf, 1) == 0x3F80u);  // tie between 1 and 1 + 2^-7: the even one
  Tensor h = make_float_tensor("f", "t", DType::F16, {6},
                               {1.0, 65504.0, std::ldexp(1.0, -24), 1.0 + std::ldexp(3.0, -11), -0.0, std::ldexp(1.0, -14)});
  CHECK(bits_of(h, 0) == 0x3C00u);
  CHECK(bits_of(h, 1) == 0x7BFFu);
  CHECK(bits_of(h, 2) == 0x0001u);        // smallest subnormal
  CHECK(bits_of(h, 3) == 0x3C02u);        // tie 1+2^-10 / 1+2^-9: the even mantissa
  CHECK(bits_of(h, 4) == 0x8000u);
  CHECK(bits_of(h, 5) == 0x0400u);        // smallest normal
  CHECK_THROWS_AS(make_float_tensor("f", "t", DType::F16, {1}, {65520.0}), ModelFileError);  // rounds to inf
  CHECK_THROWS_AS(make_float_tensor("f", "t", DType::F32, {1}, {1e39}), ModelFileError);
  CHECK_THROWS_AS(make_float_tensor("f", "t", DType::F64, {1}, {NAN}), ModelFileError);
  // Decoding gives the exact values back.
  SafetensorsFile f;
  f.tensors["h"] = h;
  auto back = parse_safetensors("f", serialize_safetensors(f).data(), serialize_safetensors(f).size());
  std::vector<double> v = tensor_doubles("f", "h", back.tensors.at("h"));
  CHECK(v == std::vector<double>{1.0, 65504.0, std::ldexp(1.0, -24), 1.0 + std::ldexp(1.0, -9), -0.0, std::ldexp(1.0, -14)});
  CHECK(std::signbit(v[4]));
}

TEST_CASE("safetensors: round trip of metadata, every dtype and exact companions", "[modelfile]") {
  SafetensorsFile f;
  f.metadata["format"] = "x";
  f.metadata["note"] = "ünïcode ok";
  f.tensors["a"] = make_float_tensor("f", "a", DType::F64, {2, 2}, {1.5, -2.25, 0, 3});
  f.tensors["b"] = make_float_tensor("f", "b", DType::BF16, {1}, {0.5});
  f.tensors["c"] = make_float_tensor("f", "c", DType::F16, {0}, {});
  f.tensors["s"] = make_float_tensor("f", "s", DType::F32, {}, {7});  // scalar
  add_exact_tensor(f, "r", {3}, {Rational(1, 3), Rational(-2, 7), Rational(5)});
  std::vector<unsigned char> bytes = serialize_safetensors(f);
  CHECK((bytes.size() - 8) % 8 == 0);
  SafetensorsFile g = parse_safetensors("f", bytes.data(), bytes.size());
  CHECK(g.metadata == f.metadata);
  REQUIRE(g.tensors.size() == 6);
  for (const auto& [name, t] : f.tensors) {
    CHECK(g.tensors.at(name).bytes == t.bytes);
    CHECK(g.tensors.at(name).shape == t.shape);
  }
  CHECK(tensor_exact("f", g, "r") == std::vector<Rational>{Rational(1, 3), Rational(-2, 7), Rational(5)});
  CHECK(tensor_doubles("f", "r", g.tensors.at("r"))[0] == 1.0 / 3.0);  // the nearest double
  CHECK(tensor_exact("f", g, "b") == std::vector<Rational>{Rational(1, 2)});
  CHECK(nearest_double(Rational(1, 10)) == 0.1);
  CHECK(nearest_double(Rational(1) / (Rational(mpz_class(1) << 1074) * 3)) == 0.0);  // below half the smallest subnormal
}

TEST_CASE("safetensors: every malformed file is refused naming the field", "[modelfile]") {
  const std::vector<unsigned char> eight(8, 0);
  const std::string ok_t = R"("t":{"dtype":"F64","shape":[1],"data_offsets":[0,8]})";
  CHECK(error_field(raw_file("{" + ok_t + "}", eight)) == "");
  CHECK(error_field({1, 2, 3}) == "header length");
  {  // a header length beyond the file
    auto b = raw_file("{" + ok_t + "}", eight);
    b[0] = 0xff;
    CHECK(error_field(b) == "header length");
    b[7] = 0xff;
    CHECK(error_field(b) == "header length");
  }
  CHECK(error_field(raw_file("{" + ok_t, eight)) == "header");                          // not JSON
  CHECK(error_field(raw_file("[1]", eight)) == "header");                               // not an object
  CHECK(error_field(raw_file("{" + ok_t + "," + ok_t + "}", eight)) == "header");       // duplicate key
  CHECK(error_field(raw_file(R"({"t":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})", eight)) == "tensor 't'.dtype");
  CHECK(error_field(raw_file(R"({"t":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}})", eight)) ==
        "tensor 't'.data_offsets");                                                     // shape vs bytes
  CHECK(error_field(raw_file(R"({"t":{"dtype":"F64","shape":[-1],"data_offsets":[0,8]}})", eight)) == "tensor 't'.shape");
  CHECK(error_field(raw_file(R"({"t":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}})", eight)) ==
        "tensor 't'.shape");                                                            // absurd: refused before allocating
  CHECK(error_field(raw_file(R"({"t":{"dtype":"F64","shape":[1],"data_offsets":[0,16]}})", eight)) ==
        "tensor 't'.data_offsets");                                                     // beyond the data
  CHECK(error_field(raw_file(R"({"t":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"u":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})",
                             std::vector<unsigned char>(16, 0))) != "");                // overlap + hole
  CHECK(error_field(raw_file(R"({"t":{"dtype":"F64","shape":[1],"data_offsets":[8,16]}})", std::vector<unsigned char>(16, 0))) ==
        "tensor 't'.data_offsets");                                                     // hole at the start
  CHECK(error_field(raw_file("{" + ok_t + "}", std::vector<unsigned char>(12, 0))) == "data");  // trailing bytes
  CHECK(error_field(raw_file(R"({"t":{"dtype":"F64","shape":[1],"data_offsets":[0,8],"x":1}})", eight)) == "tensor 't'.x");
  CHECK(error_field(raw_file(R"({"__metadata__":{"a":1},)" + ok_t + "}", eight)) == "__metadata__.a");
  CHECK(error_field(raw_file(R"({"t":{"dtype":"F64","shape":[[[[[1]]]]],"data_offsets":[0,8]}})", eight)) == "header");
  {  // NaN and infinity
    std::vector<unsigned char> nan_f32 = {0x00, 0x00, 0xc0, 0x7f};
    CHECK(error_field(raw_file(R"({"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", nan_f32)) == "tensor 't'");
    std::vector<unsigned char> inf_f64 = {0, 0, 0, 0, 0, 0, 0xf0, 0x7f};
    CHECK(error_field(raw_file("{" + ok_t + "}", inf_f64)) == "tensor 't'");
    std::vector<unsigned char> inf_f16 = {0x00, 0x7c};
    CHECK(error_field(raw_file(R"({"t":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}})", inf_f16)) == "tensor 't'");
  }
  {  // exact companions: grammar, count, and agreement with the nearest doubles
    auto with_exact = [&](const std::string& text, double value) {
      std::vector<unsigned char> d(8);
      std::memcpy(d.data(), &value, 8);
      d.insert(d.end(), text.begin(), text.end());
      return raw_file(R"({"t":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"t.exact":{"dtype":"U8","shape":[)" +
                          std::to_string(text.size()) + R"(],"data_offsets":[8,)" + std::to_string(8 + text.size()) + "]}}",
                      d);
    };
    CHECK(error_field(with_exact("1/3", 1.0 / 3)) == "");
    CHECK(error_field(with_exact("2/6", 1.0 / 3)) == "tensor 't.exact'");   // not in lowest terms
    CHECK(error_field(with_exact("1/0", 1.0 / 3)) == "tensor 't.exact'");
    CHECK(error_field(with_exact("1/3 1", 1.0 / 3)) == "tensor 't.exact'");  // too many entries
    CHECK(error_field(with_exact("0.5", 0.5)) == "tensor 't.exact'");
    CHECK(error_field(with_exact("1/3", 0.3333)) == "tensor 't'");           // the double disagrees
  }
}

TEST_CASE("safetensors: a FIFO, a directory, a missing file are refused without blocking", "[modelfile]") {
  const std::string fifo = temp_path("fifo");
  std::remove(fifo.c_str());
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  try {
    read_safetensors(fifo);
    FAIL("a FIFO was read");
  } catch (const ModelFileError& e) {
    CHECK(e.field() == "file");
    CHECK(std::string(e.what()).find("not a regular file") != std::string::npos);
  }
  std::remove(fifo.c_str());
  CHECK_THROWS_AS(read_safetensors("/tmp"), ModelFileError);
  CHECK_THROWS_AS(read_safetensors(temp_path("does-not-exist")), ModelFileError);
  ReadLimits small;
  small.max_file_bytes = 4;
  const std::string p = temp_path("small.st");
  SafetensorsFile f;
  f.tensors["t"] = make_float_tensor("f", "t", DType::F64, {1}, {1});
  write_safetensors(p, f);
  CHECK_THROWS_WITH(read_safetensors(p, small), Catch::Contains("exceeds the limit"));
  std::remove(p.c_str());
}

TEST_CASE("model file: bounded mutation run over an exported file never crashes or misreads", "[modelfile]") {
  QsaCyclicEmbedding emb(qparams(5, 2));
  QsaTableModel m = qsa_table_model_of(emb, "qsa-cyclic");
  const std::vector<unsigned char> seed = serialize_safetensors(qsa_table_model_file(m));
  std::mt19937_64 rng(20231);
  int parsed = 0, refused = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    std::vector<unsigned char> b = seed;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng() % b.size();
      switch (rng() % 4) {
        case 0: b[at] ^= static_cast<unsigned char>(1u << (rng() % 8)); break;
        case 1: b[at] = static_cast<unsigned char>("0123456789[]{},:\"-/ eE."[rng() % 23]); break;
        case 2: b.resize(at + 1); break;
        default: b.insert(b.begin() + at, static_cast<unsigned char>(rng())); break;
      }
    }
    try {
      SafetensorsFile f = parse_safetensors("mut", b.data(), b.size());
      QsaTableModel back = qsa_table_model_from("mut", f);
      // A file that still reads must hold exactly what its bytes say: shapes as declared.
      CHECK(back.query_table.rows() == binomial(back.N, back.q));
      CHECK(back.key_table.rows() == static_cast<std::size_t>(back.N));
      ++parsed;
    } catch (const ModelFileError&) {
      ++refused;
    }
  }
  CHECK(parsed + refused == 3000);
  CHECK(refused > 2000);
}

TEST_CASE("model file: class qsa-table fields are validated", "[modelfile]") {
  QsaCyclicEmbedding emb(qparams(5, 2));
  QsaTableModel m = qsa_table_model_of(emb, "qsa-cyclic");
  auto refusal = [&](auto edit) -> std::string {
    SafetensorsFile f = qsa_table_model_file(m);
    edit(f);
    try {
      qsa_table_model_from("m.st", f);
    } catch (const ModelFileError& e) {
      return e.field();
    }
    return "";
  };
  CHECK(refusal([](SafetensorsFile&) {}) == "");
  CHECK(refusal([](SafetensorsFile& f) { f.metadata["format_version"] = "2"; }) == "__metadata__.format_version");
  CHECK(refusal([](SafetensorsFile& f) { f.metadata["class"] = "attention"; }) == "__metadata__.class");
  CHECK(refusal([](SafetensorsFile& f) { f.metadata["residual"] = "true"; }) == "__metadata__.residual");
  CHECK(refusal([](SafetensorsFile& f) { f.metadata["heads"] = "2"; }) == "__metadata__.heads");
  CHECK(refusal([](SafetensorsFile& f) { f.metadata["q"] = "6"; }) == "__metadata__.q");
  CHECK(refusal([](SafetensorsFile& f) { f.metadata["N"] = "07"; }) == "__metadata__.N");
  CHECK(refusal([](SafetensorsFile& f) { f.metadata["N"] = "6"; }) == "tensor 'key_table'.shape");
  CHECK(refusal([](SafetensorsFile& f) { f.metadata.erase("d"); }) == "__metadata__.d");
  CHECK(refusal([](SafetensorsFile& f) { f.tensors.erase("output_map"); }) == "tensor 'output_map'");
  CHECK(refusal([](SafetensorsFile& f) { f.tensors["extra"] = f.tensors["value_map"]; }) == "tensor 'extra'");
  CHECK(refusal([](SafetensorsFile& f) {
          f.metadata["N"] = "100000";
          f.metadata["q"] = "50000";
        }) == "__metadata__.N");  // C(N, q) refused before anything is allocated
}

TEST_CASE("model file: structure the checker needs is verified, else refused with the reason", "[modelfile]") {
  QsaCyclicEmbedding emb(qparams(5, 2));
  QsaTableModel m = qsa_table_model_of(emb, "qsa-cyclic");
  CHECK(qsa_certifiable_structure_problem(m, true).empty());
  CHECK(qsa_certifiable_structure_problem(m, false).empty());
  m.value_map(0, 0) = 2;
  m.output_map(0, 0) = Rational(1, 2);
  CHECK(qsa_certifiable_structure_problem(m, true).empty());  // ψ·V = I
  CHECK(qsa_certifiable_structure_problem(m, false).find("identity") != std::string::npos);
  m.output_map(0, 0) = 1;
  CHECK(qsa_certifiable_structure_problem(m, true).find("output_map·value_map") != std::string::npos);
}

TEST_CASE("model file: exported constructions check exactly like the built-in ones", "[modelfile][qsa]") {
  struct Case {
    std::string claim;
    int N, q;
    std::optional<Rational> c;
    std::string sem;
  };
  const std::vector<Case> cases = {
      {"qsa-cyclic", 6, 1, {}, "exact"},        {"qsa-cyclic", 8, 2, {}, "exact"},
      {"qsa-cyclic", 10, 3, {}, "exact"},       {"qsa-cyclic", 10, 2, Rational(1, 2), "exact"},  // negative twin
      {"qsa-cyclic", 8, 2, {}, "embed:float:10"}, {"qsa-cyclic", 7, 2, {}, "arith:float:8"},
      {"qsa-rip", 10, 2, {}, "exact"},          {"qsa-rip", 9, 2, Rational(1), "exact"},  // fails: c too small
  };
  const std::string path = temp_path("roundtrip.st");
  for (const auto& cs : cases) {
    INFO(cs.claim << " N=" << cs.N << " q=" << cs.q << " " << cs.sem);
    auto emb = make_qsa_embedding(cs.claim, qparams(cs.N, cs.q, cs.c));
    write_qsa_table_model(path, qsa_table_model_of(*emb, cs.claim));
    QsaTableModel m = read_qsa_table_model(path);
    CHECK(m.dtypes == "F64+exact");
    CHECK(m.key_table.data() == emb->keys().data());
    QsaTableEmbedding file_emb(m);
    QsaCheckResult a = check(*emb, cs.sem), b = check(file_emb, cs.sem);
    CHECK(a.verdict == b.verdict);
    CHECK(a.cases == b.cases);
    CHECK(a.witness_S == b.witness_S);
    CHECK(a.witness_signs == b.witness_signs);
    CHECK(a.worst_lower == b.worst_lower);
    // The reported upper bound is widened by each path's own double filter: both bound the same
    // exact worst case, so they overlap and agree to far below the displayed digits.
    CHECK(b.worst_upper >= a.worst_lower);
    CHECK(abs(a.worst_upper - b.worst_upper) < Rational(1, 1000000000));
    CHECK(a.failing_rows == b.failing_rows);
    if (a.verdict == Verdict::Fails) CHECK(b.witness_verified);
  }
  std::remove(path.c_str());
}

TEST_CASE("model file: BF16 and F16 exports store the rounded reals, read back exactly", "[modelfile]") {
  QsaCyclicEmbedding emb(qparams(5, 1));  // entries up to 5^2 times c: inside F16's range
  QsaTableModel m = qsa_table_model_of(emb, "qsa-cyclic");
  for (DType dt : {DType::BF16, DType::F16}) {
    ModelWriteOptions w;
    w.exact = false;
    w.dtype = dt;
    std::vector<unsigned char> bytes = serialize_safetensors(qsa_table_model_file(m, w));
    QsaTableModel back = qsa_table_model_from("small", parse_safetensors("small", bytes.data(), bytes.size()));
    CHECK(back.dtypes == dtype_name(dt));
    const int sig = dt == DType::BF16 ? 8 : 11;  // significand bits, normal range
    int inexact = 0;
    for (std::size_t i = 0; i < m.query_table.data().size(); ++i) {
      const double x = nearest_double(m.query_table.data()[i]);
      const double y = back.query_table.data()[i].get_d();  // exact: a BF16/F16 value is a double
      int e = 0;
      std::frexp(x, &e);
      CHECK(std::fabs(y - x) <= std::ldexp(1.0, e - sig - 1));  // within half an ulp
      inexact += y != x;
    }
    CHECK(inexact > 0);  // the temperature makes the queries non-representable: rounding happened
    CHECK(back.key_table(4, 0) == 5);  // small integers are exact in both
  }
}

TEST_CASE("model file: a rounded (F32) export is checked as the reals it stores", "[modelfile][qsa]") {
  QsaCyclicEmbedding emb(qparams(8, 2));
  QsaTableModel m = qsa_table_model_of(emb, "qsa-cyclic");
  ModelWriteOptions w;
  w.exact = false;
  w.dtype = DType::F32;
  SafetensorsFile f = qsa_table_model_file(m, w);
  std::vector<unsigned char> bytes = serialize_safetensors(f);
  QsaTableModel back = qsa_table_model_from("f32", parse_safetensors("f32", bytes.data(), bytes.size()));
  CHECK(back.dtypes == "F32");
  // Every entry is the float32 nearest the exact one, taken exactly.
  for (std::size_t i = 0; i < m.query_table.data().size(); ++i)
    CHECK(back.query_table.data()[i] == Rational(static_cast<double>(static_cast<float>(nearest_double(m.query_table.data()[i])))));
  QsaTableEmbedding e(back);
  QsaCheckResult r = check(e);
  CHECK(r.verdict == Verdict::Holds);
}

TEST_CASE("CLI: export, check --model and eval --model; bad files exit 2 naming the file", "[modelfile][cli]") {
  using attnbounds_test::run_attnbounds;
  const std::string path = temp_path("cli.st");
  auto ex = run_attnbounds("export qsa-cyclic --N 9 --q 2 --c 1/2 --out " + path, 60, true);
  REQUIRE(ex.status == 0);
  auto from_file = run_attnbounds("check qsa --model " + path + " --eps 0.1 --json", 60, true);
  auto built_in = run_attnbounds("check qsa-cyclic --N 9 --q 2 --c 1/2 --eps 0.1 --json", 60, true);
  REQUIRE(from_file.status == 1);
  REQUIRE(built_in.status == 1);
  auto a = nlohmann::json::parse(from_file.out), b = nlohmann::json::parse(built_in.out);
  CHECK(a["verdict"] == b["verdict"]);
  CHECK(a["cases"] == b["cases"]);
  CHECK(a["worst"]["witness"] == b["worst"]["witness"]);
  CHECK(a["worst"]["lower"] == b["worst"]["lower"]);
  CHECK(a["worst"]["witness"]["verified_by_forward_pass"] == true);

  {  // min-p of the exported file equals min-p of the construction (embed and arith, float)
    const std::string good = temp_path("minp.st");
    REQUIRE(run_attnbounds("export qsa-cyclic --N 8 --q 2 --out " + good, 60, true).status == 0);
    for (const std::string mode : {"embed", "arith"}) {
      auto f = run_attnbounds("min-p qsa --model " + good + " --eps 0.1 --p-max 28 --json --mode " + mode, 120, true);
      auto c = run_attnbounds("min-p qsa-cyclic --N 8 --q 2 --eps 0.1 --p-max 28 --json --mode " + mode, 120, true);
      REQUIRE(f.status == c.status);
      auto jf = nlohmann::json::parse(f.out), jc = nlohmann::json::parse(c.out);
      CHECK(jf["p_star"] == jc["p_star"]);
      CHECK(jf["p_star"].is_number());
      REQUIRE(jf["table"].size() == jc["table"].size());
      for (std::size_t i = 0; i < jf["table"].size(); ++i) CHECK(jf["table"][i]["verdict"] == jc["table"][i]["verdict"]);
    }
    std::remove(good.c_str());
  }

  const std::string in = temp_path("in.json");
  std::ofstream(in) << R"({"z": [[1],[0],[-1],[0.5],[0],[0],[0],[0],[0]], "y": [[1,3],[1,2],[2,3],[4,5],[1,9],[8,9],[1,2],[3,4],[5,6]]})";
  auto ev = run_attnbounds("eval qsa --model " + path + " --input " + in + " --json", 60, true);
  REQUIRE(ev.status == 0);
  auto e = nlohmann::json::parse(ev.out);
  REQUIRE(e["tokens"].size() == 9);
  CHECK(std::stod(e["tokens"][0]["output_lower"][0].get<std::string>()) <=
        std::stod(e["tokens"][0]["output_upper"][0].get<std::string>()));

  {  // truncated file
    std::ifstream is(path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(is)), {});
    std::ofstream(path, std::ios::binary) << bytes.substr(0, bytes.size() - 3);
  }
  auto bad = run_attnbounds("check qsa --model " + path + " --eps 0.1", 60, true);
  CHECK(bad.status == 2);
  CHECK(bad.err.find(path) != std::string::npos);
  CHECK(bad.err.find("data_offsets") != std::string::npos);
  CHECK(std::count(bad.err.begin(), bad.err.end(), '\n') == 1);
  auto none = run_attnbounds("check qsa --model /tmp --eps 0.1", 60, true);
  CHECK(none.status == 2);
  std::remove(path.c_str());
  std::remove(in.c_str());
}
