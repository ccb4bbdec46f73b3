#include "certify/qsa_certificate.hpp"

#include <memory>
#include <stdexcept>

#include "certify/qsa_checker.hpp"
#include "core/atomic_file.hpp"
#include "core/cbor_writer.hpp"
#include "core/config_error.hpp"
#include "core/zstd_stream.hpp"
#include "enumerate/combinatorics.hpp"
#include "enumerate/parallel.hpp"

namespace attnbounds {

namespace {

constexpr const char* kValuesText =
    "v_j = z_j (the token's own z, rounded to the format under embed); worst case over the unit ball";

// The bytes of one part of the file in the chosen encoding.
class Encoder {
 public:
  explicit Encoder(bool binary) : binary_(binary) {}
  bool binary() const { return binary_; }

  // Everything before the first row.
  std::string header(const std::string& claim, const QsaEmbedding& emb, const Rational& eps, const Semantics& sem,
                     const std::vector<std::vector<std::string>>& keys) const {
    const std::string format = "attnbounds-qsa-certificate-1";
    std::string out;
    if (!binary_) {
      out += "{\n  \"format\": \"" + format + "\",\n";
      out += "  \"claim\": \"" + claim + "\",\n  \"N\": " + std::to_string(emb.N()) + ",\n  \"q\": " + std::to_string(emb.q()) +
             ",\n  \"d\": " + std::to_string(emb.d()) + ",\n  \"m\": " + std::to_string(emb.m()) + ",\n";
      out += "  \"bound\": \"" + to_exact_decimal_or_fraction(eps) + "\",\n  \"semantics\": \"" + sem.name() + "\",\n";
      out += "  \"temperature\": \"" + to_exact_decimal_or_fraction(emb.temperature()) + "\",\n";
      out += std::string("  \"values\": \"") + kValuesText + "\",\n  \"keys\": [\n";
      for (std::size_t j = 0; j < keys.size(); ++j) {
        out += "    [";
        for (std::size_t c = 0; c < keys[j].size(); ++c) out += (c ? ", \"" : "\"") + keys[j][c] + "\"";
        out += std::string("]") + (j + 1 < keys.size() ? "," : "") + "\n";
      }
      out += "  ],\n  \"queries\": [\n";
      return out;
    }
    cbor::self_describe(out);
    cbor::map(out, 12);
    auto text_field = [&](const char* k, const std::string& v) {
      cbor::text(out, k);
      cbor::text(out, v);
    };
    auto int_field = [&](const char* k, long long v) {
      cbor::text(out, k);
      cbor::integer(out, v);
    };
    text_field("format", format);
    text_field("claim", claim);
    int_field("N", emb.N());
    int_field("q", emb.q());
    int_field("d", emb.d());
    int_field("m", emb.m());
    text_field("bound", to_exact_decimal_or_fraction(eps));
    text_field("semantics", sem.name());
    text_field("temperature", to_exact_decimal_or_fraction(emb.temperature()));
    text_field("values", kValuesText);
    cbor::text(out, "keys");
    cbor::array(out, keys.size());
    for (const auto& k : keys) {
      cbor::array(out, k.size());
      for (const auto& v : k) cbor::text(out, v);
    }
    cbor::text(out, "queries");
    cbor::begin_indefinite_array(out);  // rows follow; their number is checked by the reader
    return out;
  }

  void row(std::string& out, const int* S, int q, const std::vector<std::string>& query, bool first) const {
    if (!binary_) {
      out += first ? "    {\"S\": [" : ",\n    {\"S\": [";
      for (int k = 0; k < q; ++k) out += (k ? ", " : "") + std::to_string(S[k] + 1);
      out += "], \"query\": [";
      for (std::size_t c = 0; c < query.size(); ++c) out += (c ? ", \"" : "\"") + query[c] + "\"";
      out += "]}";
      return;
    }
    cbor::map(out, 2);
    cbor::text(out, "S");
    cbor::array(out, static_cast<std::uint64_t>(q));
    for (int k = 0; k < q; ++k) cbor::unsigned_int(out, static_cast<std::uint64_t>(S[k] + 1));
    cbor::text(out, "query");
    cbor::array(out, query.size());
    for (const auto& v : query) cbor::text(out, v);
  }

  std::string trailer() const {
    if (!binary_) return "\n  ]\n}\n";
    std::string out;
    cbor::end_indefinite(out);
    return out;
  }

 private:
  bool binary_;
};

// One batch of encoded rows, in subset order.
struct EncodedRows {
  std::string bytes;
  std::string missing;  // the first subset of the batch without a query, if any
};

}  // namespace

CertificateEncoding certificate_encoding_for_path(const std::string& path) {
  auto ends_with = [&](const char* suffix) {
    const std::string s = suffix;
    return path.size() >= s.size() && path.compare(path.size() - s.size(), s.size(), s) == 0;
  };
  if (ends_with(".cbor.zst")) return CertificateEncoding::CborZstd;
  if (ends_with(".cbor")) return CertificateEncoding::Cbor;
  return CertificateEncoding::Json;
}

std::uint64_t write_qsa_certificate(const std::string& path, const QsaEmbedding& emb, const Rational& eps,
                                    const Semantics& sem, const std::string& claim, CertificateEncoding encoding,
                                    unsigned threads) {
  // A certificate stores exact queries and keys; it covers what needs no rounded arithmetic.
  if (auto why = kCertificateSemantics.refusal(sem, "a certificate")) throw ConfigError("certificate", *why);
  const SemanticsPolicy policy(sem, kCertificateSemantics, "a certificate");
  // Written under a temporary name and renamed when complete: an interrupted or failed write never
  // leaves a file that looks like a certificate, and never destroys an earlier one.
  AtomicFile file(path);
  std::unique_ptr<ZstdOutputBuf> zbuf;
  std::unique_ptr<std::ostream> zstream;
  if (encoding == CertificateEncoding::CborZstd) {
    zbuf = std::make_unique<ZstdOutputBuf>(file.stream());
    zstream = std::make_unique<std::ostream>(zbuf.get());
  }
  std::ostream& os = zstream ? *zstream : file.stream();
  const Encoder enc(encoding != CertificateEncoding::Json);
  auto value = [&](const Rational& v) { return to_exact_decimal_or_fraction(policy.stored(v)); };
  const int N = emb.N(), q = emb.q();

  std::vector<std::vector<std::string>> keys(static_cast<std::size_t>(N));
  const Mat<Rational>& K = emb.keys();
  for (int j = 0; j < N; ++j)
    for (std::size_t c = 0; c < K.cols(); ++c) keys[static_cast<std::size_t>(j)].push_back(value(K(j, c)));
  os << enc.header(claim, emb, eps, sem, keys);

  // Rows a batch at a time: computed on all threads (one query worker per chunk), written in order.
  const std::uint64_t total = binomial(N, q);
  const std::uint64_t batch = std::uint64_t{1} << 15;
  for (std::uint64_t begin = 0; begin < total; begin += batch) {
    const std::uint64_t len = std::min(batch, total - begin);
    EncodedRows rows = parallel_reduce(
        len, threads, EncodedRows{},
        [&](std::uint64_t b, std::uint64_t e, EncodedRows& acc) {
          auto worker = make_query_worker(emb);
          std::vector<int> S(static_cast<std::size_t>(q));
          unrank_subset(begin + b, N, q, S.data());
          std::vector<std::string> query;
          for (std::uint64_t i = b; i < e; ++i) {
            if (i > b) next_subset(S.data(), q, N);
            auto w = worker->query(S);
            if (!w) {
              if (acc.missing.empty()) {
                std::string s;
                for (int k : S) s += std::to_string(k + 1) + " ";
                acc.missing = "no query for S = { " + s + "}: " + worker->missing_reason();
              }
              continue;
            }
            query.clear();
            for (const auto& v : *w) query.push_back(value(v));
            enc.row(acc.bytes, S.data(), q, query, begin + i == 0);
          }
        },
        [](EncodedRows& acc, EncodedRows&& p) {
          acc.bytes += p.bytes;
          if (acc.missing.empty()) acc.missing = std::move(p.missing);
        });
    if (!rows.missing.empty()) throw std::runtime_error(rows.missing);
    os << rows.bytes;
  }
  os << enc.trailer();
  if (zbuf && !zbuf->finish()) throw OutputError("cannot write '" + path + "' (compression or write error)");
  if (!os) throw OutputError("cannot write '" + path + "'");
  file.commit();
  return total;
}

}  // namespace attnbounds
