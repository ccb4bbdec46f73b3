#include "certify/certificate_reader.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <cstdint>
#include <optional>
#include <set>
#include <stdexcept>

#include "core/cbor_writer.hpp"
#include "core/zstd_stream.hpp"
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


// Coverage is checked with one bit per subset up to this many subsets (128 MiB); beyond, rows
// must come in increasing rank order (as the writer emits them).
constexpr std::uint64_t kMaxUnorderedSubsets = std::uint64_t{1} << 30;

class Reader {
 public:
  explicit Reader(QsaCertificateConsumer& consumer) : consumer_(consumer) {}

  void field(const std::string& key, json&& value) { header_[key] = std::move(value); }

  void take_row(json&& row) {
    const std::uint64_t index = rows_read_++;
    if (!validated_ && header_.size() == top_fields().size() - 1) validate_header();
    if (validated_) deliver(index, row);
    else buffered_.push_back(std::move(row));
  }

  // After the whole input was parsed: fields, coverage and the buffered rows.
  void finish(const std::set<std::string>& seen) {
    for (const auto& f : top_fields())
      if (!seen.count(f)) reject("field '" + f + "' is missing");
    if (!validated_) validate_header();
    for (std::size_t i = 0; i < buffered_.size(); ++i) deliver(i, buffered_[i]);
    buffered_.clear();
    if (rows_read_ != total_)
      reject("C(N, q) = " + (total_ == UINT64_MAX ? std::string("more than 1.8e19") : std::to_string(total_)) + " subsets but " +
             std::to_string(rows_read_) + " queries: every subset must occur exactly once");
  }

 private:
  void validate_header() {
    json& doc = header_;
    QsaCertificateHeader& h = h_;
    if (exact_string(doc["format"], "format") != kFormatName) reject(std::string("format must be \"") + kFormatName + "\"");
    h.claim = exact_string(doc["claim"], "claim");
    if (h.claim != "qsa-cyclic" && h.claim != "qsa-rip") reject("claim must be qsa-cyclic or qsa-rip");
    h.N = static_cast<int>(exact_int(doc["N"], "N", 1, kMaxN));
    h.q = static_cast<int>(exact_int(doc["q"], "q", 1, h.N));
    h.d = static_cast<int>(exact_int(doc["d"], "d", 1, kMaxD));
    h.m = static_cast<int>(exact_int(doc["m"], "m", 1, 1LL << 30));
    h.bound = exact_number(doc["bound"], "bound");
    if (h.bound <= 0 || h.bound >= 1) reject("bound must lie in (0, 1)");
    h.semantics = exact_string(doc["semantics"], "semantics");
    try {
      sem_ = parse_semantics(h.semantics);
    } catch (const std::exception& e) {
      reject(std::string("semantics: ") + e.what());
    }
    if (auto why = kCertificateSemantics.refusal(sem_, "a certificate")) reject("semantics: " + *why);
    h.temperature = exact_number(doc["temperature"], "temperature");
    if (h.temperature <= 0) reject("temperature must be > 0");
    exact_string(doc["values"], "values");
    const json& jk = doc["keys"];
    if (!jk.is_array() || jk.size() != static_cast<std::size_t>(h.N)) reject("keys must hold exactly N = " + std::to_string(h.N) + " vectors");
    for (int j = 0; j < h.N; ++j) {
      h.keys.push_back(number_vector(jk[static_cast<std::size_t>(j)], "keys[" + std::to_string(j) + "]"));
      if (h.keys.back().empty()) reject("keys[" + std::to_string(j) + "] is empty");
      if (h.keys.back().size() != h.keys[0].size()) reject("keys[" + std::to_string(j) + "] differs in length from keys[0]");
    }
    width_ = h.keys[0].size();
    if (static_cast<long long>(h.m) != h.d + 2 * static_cast<long long>(width_))
      reject("m = " + std::to_string(h.m) + " but d + 2 * (key width) = " + std::to_string(h.d + 2 * static_cast<long long>(width_)));
    if (sem_.kind == Semantics::Kind::Embed)
      for (int j = 0; j < h.N; ++j)
        for (const auto& v : h.keys[static_cast<std::size_t>(j)]) representable(v, "an entry of keys[" + std::to_string(j) + "]");
    total_ = binomial_saturating(h.N, h.q);
    use_bits_ = total_ <= kMaxUnorderedSubsets;
    if (use_bits_) seen_.assign(total_, false);
    header_ = json();  // the keys now live in h_ only
    validated_ = true;
    consumer_.begin(h_);
  }

  void representable(const Rational& v, const std::string& where) const {
    if (round_to(sem_.format, v) != v) reject(where + " is not representable in " + sem_.format.name());
  }

  void deliver(std::uint64_t index, const json& row) {
    const std::string where = "queries[" + std::to_string(index) + "]";
    if (index >= total_) reject("more queries than the C(N, q) = " + std::to_string(total_) + " subsets: every subset must occur exactly once");
    if (!row.contains("S") || !row.contains("query")) reject(where + " needs both \"S\" and \"query\"");
    QsaCertificateRow r;
    const json& S = row["S"];
    r.S.reserve(S.size());
    for (const auto& sv : S) r.S.push_back(static_cast<int>(exact_int(sv, where + ".S entries", 1, kMaxN)) - 1);
    if (r.S.size() != static_cast<std::size_t>(h_.q)) reject(where + ".S must have q = " + std::to_string(h_.q) + " elements");
    for (std::size_t k = 0; k < r.S.size(); ++k)
      if (r.S[k] >= h_.N || (k > 0 && r.S[k] <= r.S[k - 1]))
        reject(where + ".S must be strictly increasing within 1..N = 1.." + std::to_string(h_.N));
    r.query = number_vector(row["query"], where + ".query");
    if (r.query.size() != width_) reject(where + ".query has " + std::to_string(r.query.size()) + " entries, the keys " + std::to_string(width_));
    if (sem_.kind == Semantics::Kind::Embed)
      for (const auto& v : r.query) representable(v, "an entry of " + where + ".query");
    cover(rank_subset(r.S, h_.N), where);
    consumer_.row(std::move(r));
  }

  // Every subset exactly once: one bit per subset, or for more than kMaxUnorderedSubsets subsets
  // strictly increasing ranks (distinct, below C(N, q), and as many as C(N, q)).
  void cover(std::uint64_t rank, const std::string& where) {
    if (use_bits_) {
      if (seen_[rank]) reject(where + ": its subset S occurs twice");
      seen_[rank] = true;
      return;
    }
    if (last_rank_ && rank <= *last_rank_)
      reject(where + ": with more than 2^30 subsets the rows must come in lexicographic order of S");
    last_rank_ = rank;
  }

 private:
  QsaCertificateConsumer& consumer_;
  json header_ = json::object();
  QsaCertificateHeader h_;
  Semantics sem_;
  std::size_t width_ = 0;
  bool validated_ = false;
  std::uint64_t total_ = 0, rows_read_ = 0;
  std::vector<json> buffered_;
  std::optional<std::uint64_t> last_rank_;
  bool use_bits_ = false;
  std::vector<bool> seen_;
};

// SAX events of either encoding → header fields and rows.  Containers are allowed only where the
// format has them, so nesting never exceeds four levels (root, keys / queries, a key vector or a
// row, S / query) and no input can make the parser recurse deeply.
class CertificateSax {
 public:
  explicit CertificateSax(Reader& reader) : reader_(reader) {}

  bool null() { return scalar(json(nullptr)); }
  bool boolean(bool v) { return scalar(json(v)); }
  bool number_integer(json::number_integer_t v) { return scalar(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return scalar(json(v)); }
  bool number_float(json::number_float_t v, const std::string&) { return scalar(json(v)); }
  bool string(std::string& v) { return scalar(json(std::move(v))); }
  bool binary(json::binary_t&) { reject("a byte string where none belongs (in '" + where() + "')"); }

  bool start_object(std::size_t) {
    if (depth_ == 0) {
      depth_ = 1;
      return true;
    }
    if (depth_ == 2 && top_key_ == "queries") {
      row_ = json::object();
      seen_row_.clear();
      depth_ = 3;
      return true;
    }
    if (depth_ == 1) reject("field '" + top_key_ + "' must not be an object");
    reject("an object where none belongs (in '" + where() + "')");
  }
  bool key(std::string& k) {
    if (depth_ == 1) {
      top_key_ = k;
      if (!top_fields().count(top_key_)) reject("unknown field '" + top_key_.substr(0, 40) + "'");
      if (!seen_top_.insert(top_key_).second) reject("field '" + top_key_ + "' appears twice");
      return true;
    }
    // depth 3: a row
    const std::string index = std::to_string(row_index_);
    if (k != "S" && k != "query") reject("queries[" + index + "] has unknown field '" + k.substr(0, 40) + "'");
    if (!seen_row_.insert(k).second) reject("queries[" + index + "] repeats '" + k + "'");
    row_key_ = k;
    return true;
  }
  bool end_object() {
    if (depth_ == 3) {  // one element of queries, handed on at once
      depth_ = 2;
      reader_.take_row(std::move(row_));
      ++row_index_;
      return true;
    }
    depth_ = 0;  // the root
    done_ = true;
    return true;
  }
  bool start_array(std::size_t) {
    if (depth_ == 1 && top_key_ == "keys") {
      field_ = json::array();
      depth_ = 2;
      return true;
    }
    if (depth_ == 1 && top_key_ == "queries") {
      depth_ = 2;
      return true;
    }
    if (depth_ == 2 && top_key_ == "keys") {
      field_.push_back(json::array());
      depth_ = 3;
      return true;
    }
    if (depth_ == 3 && top_key_ == "queries") {
      row_[row_key_] = json::array();
      depth_ = 4;
      return true;
    }
    if (depth_ == 0) reject("the file must be one object");
    if (depth_ == 2) reject("every element of queries must be an object {\"S\", \"query\"}");
    reject("an array where none belongs (in '" + where() + "')");
  }
  bool end_array() {
    --depth_;
    if (depth_ == 1 && top_key_ == "keys") reader_.field("keys", std::move(field_));
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) {
    reject(std::string(binary_ ? "not CBOR (" : "not JSON (") + e.what() + ")");
  }

  bool done() const { return done_; }
  const std::set<std::string>& seen_top() const { return seen_top_; }
  bool binary_ = false;

 private:
  bool scalar(json&& v) {
    switch (depth_) {
      case 0:
        reject("the file must be one object");
      case 1:
        if (top_key_ == "queries") reject("queries must be an array of {\"S\", \"query\"} objects");
        if (top_key_ == "keys") reject("keys must hold exactly N vectors");
        reader_.field(top_key_, std::move(v));
        return true;
      case 2:
        reject(top_key_ == "queries" ? "every element of queries must be an object {\"S\", \"query\"}"
                                     : "every element of keys must be an array of numbers");
      case 3:
        if (top_key_ == "queries") reject("queries[" + std::to_string(row_index_) + "]: S and query must be arrays");
        field_.back().push_back(std::move(v));
        return true;
      default:  // 4: an entry of S or query
        row_[row_key_].push_back(std::move(v));
        return true;
    }
  }
  std::string where() const { return top_key_; }

  Reader& reader_;
  int depth_ = 0;
  bool done_ = false;
  std::string top_key_, row_key_;
  std::set<std::string> seen_top_, seen_row_;
  std::uint64_t row_index_ = 0;
  json field_, row_;
};

void parse_events(std::istream& in, bool binary, QsaCertificateConsumer& consumer) {
  Reader reader(consumer);
  CertificateSax sax(reader);
  sax.binary_ = binary;
  try {
    json::sax_parse(in, &sax, binary ? json::input_format_t::cbor : json::input_format_t::json, true);
  } catch (const json::exception& e) {
    reject(std::string(binary ? "not CBOR (" : "not JSON (") + e.what() + ")");
  }
  if (!sax.done()) reject("the file must be one object");
  reader.finish(sax.seen_top());
}

// The three bytes of the CBOR self-describe tag, which the format puts first.
void expect_self_describe(std::istream& in) {
  char tag[3] = {0, 0, 0};
  in.read(tag, 3);
  if (in.gcount() != 3 || std::memcmp(tag, cbor::kSelfDescribe, 3) != 0)
    reject("a CBOR certificate must begin with the self-describe tag D9 D9 F7");
}

class CollectingConsumer : public QsaCertificateConsumer {
 public:
  explicit CollectingConsumer(QsaCertificate& c) : c_(c) {}
  void begin(const QsaCertificateHeader& h) override { static_cast<QsaCertificateHeader&>(c_) = h; }
  void row(QsaCertificateRow&& r) override { c_.rows.push_back(std::move(r)); }

 private:
  QsaCertificate& c_;
};

}  // namespace

CertificateEncoding detect_certificate_encoding(const unsigned char* head, std::size_t size) {
  if (is_zstd_magic(head, size)) return CertificateEncoding::CborZstd;
  if (size >= 3 && std::memcmp(head, cbor::kSelfDescribe, 3) == 0) return CertificateEncoding::Cbor;
  return CertificateEncoding::Json;
}

const char* certificate_encoding_name(CertificateEncoding e) {
  switch (e) {
    case CertificateEncoding::Json: return "json";
    case CertificateEncoding::Cbor: return "cbor";
    case CertificateEncoding::CborZstd: return "cbor+zstd";
  }
  return "json";
}

CertificateEncoding read_qsa_certificate(std::istream& in, QsaCertificateConsumer& consumer) {
  unsigned char head[4] = {0, 0, 0, 0};
  const std::streampos start = in.tellg();
  in.read(reinterpret_cast<char*>(head), 4);
  const std::size_t got = static_cast<std::size_t>(in.gcount());
  in.clear();
  in.seekg(start);
  if (!in) reject("cannot rewind the input");
  const CertificateEncoding enc = detect_certificate_encoding(head, got);
  if (enc == CertificateEncoding::Json) {
    parse_events(in, false, consumer);
  } else if (enc == CertificateEncoding::Cbor) {
    expect_self_describe(in);
    parse_events(in, true, consumer);
  } else {
    try {
      ZstdInputBuf unzipped(in);
      std::istream zin(&unzipped);
      zin.exceptions(std::ios::badbit);  // a zstd error reaches the caller as itself
      expect_self_describe(zin);
      parse_events(zin, true, consumer);
    } catch (const std::invalid_argument& e) {
      const std::string what = e.what();
      if (what.rfind("replay:", 0) == 0) throw;
      reject(what);
    }
  }
  return enc;
}

QsaCertificate read_qsa_certificate(std::istream& in) {
  QsaCertificate cert;
  CollectingConsumer collect(cert);
  read_qsa_certificate(in, collect);
  return cert;
}

}  // namespace attnbounds
