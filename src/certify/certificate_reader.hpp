// Strict reader of the qSA certificate format attnbounds-qsa-certificate-1
// (docs/certificate-format.md), in either encoding: JSON text, or CBOR (optionally compressed with
// zstd), told apart by the first bytes.  It accepts exactly the documented format: the exact key
// set, no duplicate keys, integers of integer type within their ranges (never wrapped), numbers as
// exact decimal or p/q strings, every q-subset exactly once, consistent dimensions, and under
// embed:<fmt> only representable entries.  Anything else is std::invalid_argument, one line.
// It shares nothing with the checker; replay.cpp evaluates what it returns.
//
// Rows are streamed: once every field but `queries` has been read and validated (the writer puts
// `queries` last), each row is validated and handed on as soon as it is read, so a certificate of
// any size is read in a fixed amount of memory.  (A file that puts `queries` earlier is still
// accepted; its rows are then kept until the other fields arrive.)  A defect found later makes
// the whole read fail, so a consumer must not report anything before the read has returned.
#pragma once
#include "core/semantics_policy.hpp"
#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "numeric/rational.hpp"

namespace attnbounds {

// What a qSA certificate can record: exact or embed:<fmt> (rounded stored values, exact
// arithmetic), never rounded arithmetic.
inline constexpr SemanticsSupport kCertificateSemantics = kExactEmbed;

struct QsaCertificateRow {
  std::vector<int> S;  // 0-based, strictly increasing
  std::vector<Rational> query;
};

struct QsaCertificateHeader {
  std::string claim;      // qsa-cyclic | qsa-rip
  std::string semantics;  // exact | embed:<fmt>
  int N = 0, q = 0, d = 0, m = 0;
  Rational bound, temperature;
  std::vector<std::vector<Rational>> keys;  // N vectors of one width
};

struct QsaCertificate : QsaCertificateHeader {
  std::vector<QsaCertificateRow> rows;  // C(N, q) rows, each subset once (file order)
};

enum class CertificateEncoding { Json, Cbor, CborZstd };

// Receives a certificate while it is read: begin() once, then every row in file order, each
// already validated against the header.
class QsaCertificateConsumer {
 public:
  virtual ~QsaCertificateConsumer() = default;
  virtual void begin(const QsaCertificateHeader& header) = 0;
  virtual void row(QsaCertificateRow&& row) = 0;
};

// Reads and validates the whole certificate, streaming rows into `consumer`; returns the encoding
// found.  Throws std::invalid_argument at the first defect (possibly after rows were delivered).
CertificateEncoding read_qsa_certificate(std::istream& in, QsaCertificateConsumer& consumer);
// The same, keeping every row in memory (small certificates, tests).
QsaCertificate read_qsa_certificate(std::istream& in);

// The encoding of a certificate from its first bytes (zstd magic, the CBOR self-describe tag, or
// else JSON text).
CertificateEncoding detect_certificate_encoding(const unsigned char* head, std::size_t size);
const char* certificate_encoding_name(CertificateEncoding e);  // "json" | "cbor" | "cbor+zstd"

}  // namespace attnbounds
