// The replayer accepts exactly the documented certificate format (docs/certificate-format.md):
// a real certificate replays as holds, and every forgery below is refused with exit 2 and one
// line before any mathematics — never read "holds", never exit 1 (a verified counterexample)
// because a file is incomplete.
#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "cli_runner.hpp"

namespace {

namespace fs = std::filesystem;
using attnbounds_test::run_attnbounds;

struct TempDir : attnbounds_test::TempDir {
  TempDir() : attnbounds_test::TempDir("attnbounds_certfmt_") {}
};

using attnbounds_test::slurp;

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  std::size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

int line_count(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

}  // namespace

TEST_CASE("replay: forged certificates are all refused with exit 2 and one line; the real one holds", "[replay][cli]") {
  TempDir tmp;
  const fs::path good = tmp.dir / "good.json";
  REQUIRE(run_attnbounds("check qsa-cyclic --N 4 --q 2 --certificate " + good.string()).status == 0);
  const std::string cert = slurp(good);
  REQUIRE(cert.find("\"q\": 2,") != std::string::npos);
  // The first row and a query entry as the writer prints them.
  const std::size_t row0 = cert.find("{\"S\": [1, 2]");
  REQUIRE(row0 != std::string::npos);
  const std::string first_row = cert.substr(row0, cert.find('}', row0) + 1 - row0);
  const std::string second_row_start = "{\"S\": [1, 3]";

  {
    auto r = run_attnbounds("replay " + good.string(), 120, true);
    CHECK(r.status == 0);
    auto j = run_attnbounds("replay --json " + good.string(), 120, true);
    CHECK(j.out.find("\"verdict\": \"holds\"") != std::string::npos);
  }
  // Field order and white space are free: the same content rearranged still holds.
  {
    std::string moved = replaced(cert, "  \"format\": \"attnbounds-qsa-certificate-1\",\n", "");
    moved = replaced(moved, "\"claim\"", "\"format\":\"attnbounds-qsa-certificate-1\",   \"claim\"");
    std::ofstream(tmp.dir / "moved.json") << moved;
    CHECK(run_attnbounds("replay " + (tmp.dir / "moved.json").string(), 120, true).status == 0);
  }

  const std::vector<std::pair<std::string, std::string>> forged = {
      {"q wraps (2^32 + 2)", replaced(cert, "\"q\": 2,", "\"q\": 4294967298,")},
      {"N wraps (2^32 + 4)", replaced(cert, "\"N\": 4,", "\"N\": 4294967300,")},
      {"N beyond 2^64", replaced(cert, "\"N\": 4,", "\"N\": 18446744073709551620,")},
      {"N negative", replaced(cert, "\"N\": 4,", "\"N\": -4,")},
      {"N as a float", replaced(cert, "\"N\": 4,", "\"N\": 4.0,")},
      {"N as a boolean", replaced(cert, "\"N\": 4,", "\"N\": true,")},
      {"q as a string", replaced(cert, "\"q\": 2,", "\"q\": \"2\",")},
      {"q > N", replaced(cert, "\"q\": 2,", "\"q\": 5,")},
      {"d zero", replaced(cert, "\"d\": 1,", "\"d\": 0,")},
      {"d wraps", replaced(cert, "\"d\": 1,", "\"d\": 4294967297,")},
      {"m inconsistent with the key width", replaced(cert, "\"m\": 9,", "\"m\": 10,")},
      {"S entry a boolean", replaced(cert, "{\"S\": [1, 2]", "{\"S\": [true, 2]")},
      {"S entry a float", replaced(cert, "{\"S\": [1, 2]", "{\"S\": [1.0, 2]")},
      {"S entry a string", replaced(cert, "{\"S\": [1, 2]", "{\"S\": [\"1\", 2]")},
      {"S entry wraps", replaced(cert, "{\"S\": [1, 2]", "{\"S\": [4294967297, 2]")},
      {"S entry 0", replaced(cert, "{\"S\": [1, 2]", "{\"S\": [0, 2]")},
      {"S entry N + 1", replaced(cert, "{\"S\": [1, 2]", "{\"S\": [1, 5]")},
      {"S unsorted", replaced(cert, "{\"S\": [1, 2]", "{\"S\": [2, 1]")},
      {"S too long", replaced(cert, "{\"S\": [1, 2]", "{\"S\": [1, 2, 3]")},
      {"a subset twice", replaced(cert, second_row_start, "{\"S\": [1, 2]")},
      {"a subset missing (incomplete)", replaced(cert, first_row + ",\n", "")},
      {"an extra row", replaced(cert, first_row, first_row + ",\n    " + first_row)},
      {"queries under another key", replaced(cert, "\"queries\"", "\"rows\"")},
      {"queries under another key, plus an empty queries",
       replaced(replaced(cert, "\"queries\"", "\"rows\""), "\"keys\"", "\"queries\": [], \"keys\"")},
      {"queries twice", replaced(cert, "\"keys\"", "\"queries\": [], \"keys\"")},
      {"N twice", replaced(cert, "\"q\": 2,", "\"q\": 2, \"N\": 4,")},
      {"an unknown field", replaced(cert, "\"q\": 2,", "\"q\": 2, \"note\": \"x\",")},
      {"temperature missing", replaced(cert, "\"temperature\"", "\"temperaturX\"")},
      {"format missing", replaced(cert, "  \"format\": \"attnbounds-qsa-certificate-1\",\n", "")},
      {"another format version", replaced(cert, "certificate-1\"", "certificate-2\"")},
      {"claim unknown", replaced(cert, "\"claim\": \"qsa-cyclic\"", "\"claim\": \"qsa-other\"")},
      {"arith semantics", replaced(cert, "\"semantics\": \"exact\"", "\"semantics\": \"arith:float:8\"")},
      {"embed semantics, entries not representable", replaced(cert, "\"semantics\": \"exact\"", "\"semantics\": \"embed:float:4\"")},
      {"bound as a JSON number", replaced(cert, "\"bound\": \"0.1\"", "\"bound\": 0.1")},
      {"bound 0", replaced(cert, "\"bound\": \"0.1\"", "\"bound\": \"0\"")},
      {"bound 1", replaced(cert, "\"bound\": \"0.1\"", "\"bound\": \"1\"")},
      {"bound hex", replaced(cert, "\"bound\": \"0.1\"", "\"bound\": \"0x1\"")},
      {"bound with a plus sign", replaced(cert, "\"bound\": \"0.1\"", "\"bound\": \"+0.1\"")},
      {"bound with a space", replaced(cert, "\"bound\": \"0.1\"", "\"bound\": \" 0.1\"")},
      {"bound nan", replaced(cert, "\"bound\": \"0.1\"", "\"bound\": \"nan\"")},
      {"bound with a huge exponent", replaced(cert, "\"bound\": \"0.1\"", "\"bound\": \"1e-99999999\"")},
      {"bound 1/0", replaced(cert, "\"bound\": \"0.1\"", "\"bound\": \"1/0\"")},
      {"key entry a JSON number", replaced(cert, "[\"1\", \"1\", \"1\", \"1\"]", "[1, \"1\", \"1\", \"1\"]")},
      {"keys of unequal length", replaced(cert, "[\"1\", \"1\", \"1\", \"1\"]", "[\"1\", \"1\", \"1\"]")},
      {"N - 1 keys", replaced(cert, "    [\"1\", \"1\", \"1\", \"1\"],\n", "")},
      {"a query shorter than the keys", replaced(cert, first_row, "{\"S\": [1, 2], \"query\": [\"0\"]}")},
      {"a row with an extra field", replaced(cert, "{\"S\": [1, 2]", "{\"note\": 1, \"S\": [1, 2]")},
      {"a row repeating S", replaced(cert, "{\"S\": [1, 2]", "{\"S\": [3, 4], \"S\": [1, 2]")},
      {"a row without query", replaced(cert, first_row, "{\"S\": [1, 2]}")},
      {"a number inside queries", replaced(cert, first_row, "7")},
      {"an object inside values", replaced(cert, "\"values\": \"", "\"values\": {\"S\": [1, 2]}, \"valuesX\": \"")},
      {"deep nesting", replaced(cert, "\"values\": \"", "\"values\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]], \"valuesX\": \"")},
      {"top-level array", "[" + cert + "]"},
      {"trailing garbage", cert + "x"},
      {"truncated (half written)", cert.substr(0, cert.size() * 2 / 3)},
      {"empty", ""},
  };
  int index = 0;
  for (const auto& [what, text] : forged) {
    const fs::path f = tmp.dir / ("forged_" + std::to_string(index++) + ".json");
    std::ofstream(f, std::ios::binary) << text;
    auto r = run_attnbounds("replay " + f.string(), 120, true);
    INFO(what << "\nstderr: " << r.err << "stdout: " << r.out);
    CHECK(r.status == 2);
    CHECK(r.out.empty());
    CHECK(line_count(r.err) == 1);
    CHECK(r.err.find("internal error") == std::string::npos);
  }
  CHECK(forged.size() >= 50);
}

TEST_CASE("replay: special files are refused without blocking or reading them", "[replay][cli]") {
  TempDir tmp;
  const fs::path fifo = tmp.dir / "fifo.json";
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  for (const std::string& f : {fifo.string(), std::string("/dev/zero"), tmp.dir.string()}) {
    auto r = run_attnbounds("replay " + f, 30, true);
    INFO(f << ": " << r.err);
    CHECK(r.status == 2);
    CHECK(line_count(r.err) == 1);
  }
}

// ---- Binary encodings: the same content as CBOR, and as zstd-compressed CBOR ----

#include <nlohmann/json.hpp>

#include "core/cbor_writer.hpp"
#include "core/zstd_stream.hpp"
#include "checks/reproduce/subprocess.hpp"
#include <optional>

namespace {

using nlohmann::json;

// JSON text → CBOR bytes, event by event (indefinite containers), keeping what a JSON value would
// lose: key order, repeated keys, integer versus float.  Used to carry every JSON forgery over.
struct CborTranscoder {
  std::string out;
  bool null() { return attnbounds::cbor::null(out), true; }
  bool boolean(bool b) { return attnbounds::cbor::boolean(out, b), true; }
  bool number_integer(json::number_integer_t v) { return attnbounds::cbor::integer(out, v), true; }
  bool number_unsigned(json::number_unsigned_t v) { return attnbounds::cbor::unsigned_int(out, v), true; }
  bool number_float(json::number_float_t v, const std::string&) { return attnbounds::cbor::float64(out, v), true; }
  bool string(std::string& s) { return attnbounds::cbor::text(out, s), true; }
  bool binary(json::binary_t&) { return false; }
  bool start_object(std::size_t) { return attnbounds::cbor::begin_indefinite_map(out), true; }
  bool key(std::string& s) { return attnbounds::cbor::text(out, s), true; }
  bool end_object() { return attnbounds::cbor::end_indefinite(out), true; }
  bool start_array(std::size_t) { return attnbounds::cbor::begin_indefinite_array(out), true; }
  bool end_array() { return attnbounds::cbor::end_indefinite(out), true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) { return false; }
};

std::optional<std::string> to_cbor_file_bytes(const std::string& json_text) {
  CborTranscoder t;
  attnbounds::cbor::self_describe(t.out);
  if (!json::sax_parse(json_text, &t)) return std::nullopt;
  return t.out;
}

std::string zstd_bytes(const std::string& raw) {
  std::ostringstream os;
  attnbounds::ZstdOutputBuf buf(os);
  std::ostream z(&buf);
  z.write(raw.data(), static_cast<std::streamsize>(raw.size()));
  REQUIRE(buf.finish());
  return os.str();
}

void write_bytes(const fs::path& f, const std::string& bytes) { std::ofstream(f, std::ios::binary) << bytes; }

json replay_json(const fs::path& f, const std::string& extra = "") {
  auto r = run_attnbounds("replay --json " + extra + f.string(), 300, true);
  INFO(f.string() << ": " << r.err);
  REQUIRE(r.status == 0);
  return json::parse(r.out);
}

}  // namespace

TEST_CASE("certificates in JSON, CBOR and CBOR+zstd carry the same content and replay identically", "[replay][cli]") {
  TempDir tmp;
  for (const std::string& check : {std::string("check qsa-cyclic --N 7 --q 2 --eps 0.1"),
                                   std::string("check qsa-rip --N 8 --q 2 --semantics embed:float:16"),
                                   std::string("check qsa-cyclic --N 6 --q 3 --eps 0.3 --semantics embed:float:20")}) {
    INFO(check);
    const fs::path js = tmp.dir / "c.json", cb = tmp.dir / "c.cbor", zs = tmp.dir / "c.cbor.zst";
    for (const auto& f : {js, cb, zs}) {
      auto r = run_attnbounds(check + " --threads 2 --json --certificate " + f.string(), 300, true);
      INFO(r.err);
      REQUIRE(r.status == 0);
      CHECK(json::parse(r.out)["certificate"]["encoding"] ==
            (f == js ? "json" : f == cb ? "cbor" : "cbor+zstd"));
    }
    const std::string jtext = slurp(js), ctext = slurp(cb), ztext = slurp(zs);
    CHECK(ctext.size() < jtext.size());
    CHECK(ztext.size() < ctext.size());
    // An independent CBOR decoder (nlohmann's, told to skip the self-describe tag) finds exactly
    // the JSON file's content, and the zstd command-line tool decompresses the .zst to the .cbor.
    json from_cbor = json::from_cbor(ctext, true, true, json::cbor_tag_handler_t::ignore);
    CHECK(from_cbor == json::parse(jtext));
    if (auto zstd = attnbounds::find_program("zstd")) {
      auto r = attnbounds::run_process(*zstd, {"-d", "-q", "-f", zs.string(), "-o", (tmp.dir / "unz.cbor").string()}, 60);
      REQUIRE(r.exit_status == 0);
      CHECK(slurp(tmp.dir / "unz.cbor") == ctext);
    } else {
      WARN("zstd not installed (scripts/setup.sh installs it): .zst not decoded independently");
    }
    // The replays agree in everything but the file name, the encoding and the timing.
    json base = replay_json(js);
    for (const auto& f : {cb, zs}) {
      json other = replay_json(f, "--threads 1 ");
      for (const char* k : {"verdict", "cases", "worst", "bound", "claim", "semantics"}) CHECK(other[k] == base[k]);
    }
    CHECK(replay_json(zs)["params"]["encoding"] == "cbor+zstd");
  }
}

TEST_CASE("binary certificates: every JSON forgery carried over to CBOR and CBOR+zstd is refused, and so are broken encodings",
          "[replay][cli]") {
  TempDir tmp;
  const fs::path good = tmp.dir / "good.json";
  REQUIRE(run_attnbounds("check qsa-cyclic --N 4 --q 2 --certificate " + good.string()).status == 0);
  const std::string cert = slurp(good);
  const std::string first_row = cert.substr(cert.find("{\"S\": [1, 2]"), cert.find('}', cert.find("{\"S\": [1, 2]")) + 1 - cert.find("{\"S\": [1, 2]"));
  const std::vector<std::pair<std::string, std::string>> json_forged = {
      {"q wraps", replaced(cert, "\"q\": 2,", "\"q\": 4294967298,")},
      {"N as a float", replaced(cert, "\"N\": 4,", "\"N\": 4.0,")},
      {"N as a boolean", replaced(cert, "\"N\": 4,", "\"N\": true,")},
      {"N twice", replaced(cert, "\"q\": 2,", "\"q\": 2, \"N\": 4,")},
      {"S entry a float", replaced(cert, "{\"S\": [1, 2]", "{\"S\": [1.0, 2]")},
      {"S unsorted", replaced(cert, "{\"S\": [1, 2]", "{\"S\": [2, 1]")},
      {"a subset twice", replaced(cert, "{\"S\": [1, 3]", "{\"S\": [1, 2]")},
      {"a subset missing", replaced(cert, first_row + ",\n", "")},
      {"an extra row", replaced(cert, first_row, first_row + ",\n    " + first_row)},
      {"a row repeating S", replaced(cert, "{\"S\": [1, 2]", "{\"S\": [3, 4], \"S\": [1, 2]")},
      {"queries twice", replaced(cert, "\"keys\"", "\"queries\": [], \"keys\"")},
      {"queries before the keys (rows buffered), a subset twice",
       replaced(replaced(cert, "{\"S\": [1, 3]", "{\"S\": [1, 2]"), "\"format\"", "\"queries\": [], \"format\"")},
      {"bound as a number", replaced(cert, "\"bound\": \"0.1\"", "\"bound\": 0.1")},
      {"an unknown field", replaced(cert, "\"q\": 2,", "\"q\": 2, \"note\": \"x\",")},
      {"deep nesting", replaced(cert, "\"values\": \"", "\"values\": [[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]], \"valuesX\": \"")},
      {"top-level array", "[" + cert + "]"},
  };
  std::vector<std::pair<std::string, std::string>> forged;
  for (const auto& [what, text] : json_forged) {
    auto bytes = to_cbor_file_bytes(text);
    INFO(what);
    REQUIRE(bytes);
    forged.emplace_back("CBOR: " + what, *bytes);
    forged.emplace_back("CBOR+zstd: " + what, zstd_bytes(*bytes));
  }
  const std::string cbor_good = *to_cbor_file_bytes(cert);
  {  // The transcoded good certificate itself holds, in both binary forms.
    write_bytes(tmp.dir / "good.cbor", cbor_good);
    write_bytes(tmp.dir / "good.cbor.zst", zstd_bytes(cbor_good));
    CHECK(replay_json(tmp.dir / "good.cbor")["verdict"] == "holds");
    CHECK(replay_json(tmp.dir / "good.cbor.zst")["verdict"] == "holds");
  }
  std::string deep = "\xD9\xD9\xF7\xA1\x66" "format";
  for (int i = 0; i < 200000; ++i) deep += '\x81';
  const std::string zgood = zstd_bytes(cbor_good);
  std::string zflip = zgood;
  zflip[zflip.size() / 2] = static_cast<char>(zflip[zflip.size() / 2] ^ 0x10);
  forged.insert(forged.end(), {
      {"CBOR truncated", cbor_good.substr(0, cbor_good.size() * 2 / 3)},
      {"CBOR with a trailing byte", cbor_good + std::string(1, '\0')},
      {"CBOR without the self-describe tag", cbor_good.substr(3)},
      {"CBOR: only the tag", cbor_good.substr(0, 3)},
      {"CBOR: 200000 nested arrays", deep},
      {"CBOR: a byte string for the format", "\xD9\xD9\xF7\xA1\x66" "format" "\x42" "ab"},
      {"CBOR: a bignum tag for N", "\xD9\xD9\xF7\xA1\x61" "N" "\xC2\x41\x04"},
      {"CBOR: queries declaring 2^64-2 rows", replaced(cbor_good, std::string("queries") + "\x9F", std::string("queries") + "\x9B\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFE")},
      {"CBOR: a map declaring 2^32 entries", "\xD9\xD9\xF7\xBA\xFF\xFF\xFF\xFF"},
      {"zstd truncated", zgood.substr(0, zgood.size() - 5)},
      {"zstd with a flipped bit", zflip},
      {"zstd followed by garbage", zgood + "garbage!"},
      {"zstd of JSON (not CBOR)", zstd_bytes(cert)},
      {"zstd magic alone", "\x28\xB5\x2F\xFD"},
  });
  int index = 0;
  for (const auto& [what, bytes] : forged) {
    const fs::path f = tmp.dir / ("forged_" + std::to_string(index++) + ".bin");
    write_bytes(f, bytes);
    auto r = run_attnbounds("replay " + f.string(), 120, true);
    INFO(what << "\nstderr: " << r.err << "stdout: " << r.out);
    CHECK(r.status == 2);
    CHECK(r.out.empty());
    CHECK(line_count(r.err) == 1);
    CHECK(r.err.find("internal error") == std::string::npos);
  }
}

TEST_CASE("zstd streams round-trip through the stream buffers across buffer boundaries", "[replay]") {
  std::string data;
  for (long i = 0; i < 400000; ++i) data += static_cast<char>((i * 7919) % 251);
  std::istringstream in(zstd_bytes(data));
  attnbounds::ZstdInputBuf buf(in);
  std::istream z(&buf);
  std::string back((std::istreambuf_iterator<char>(z)), std::istreambuf_iterator<char>());
  CHECK(back == data);
  // Two frames one after the other decode as their concatenation.
  std::istringstream two(zstd_bytes("abc") + zstd_bytes("def"));
  attnbounds::ZstdInputBuf buf2(two);
  std::istream z2(&buf2);
  CHECK(std::string((std::istreambuf_iterator<char>(z2)), std::istreambuf_iterator<char>()) == "abcdef");
}
