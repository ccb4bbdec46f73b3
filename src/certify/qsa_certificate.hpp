// Writes a replayable qSA certificate (math §6): keys, one query per subset, bound, semantics.
// Every number is an exact decimal or "p/q" string; the score of key j in a row is exactly
// ⟨query, key_j⟩ (temperature inside the query).  Under embed:<fmt> the written keys and queries
// are the rounded ones.  Encodings (docs/certificate-format.md): JSON text, or the same content as
// CBOR, optionally zstd-compressed; every encoding is streamed (rows computed a batch at a time on
// all threads, written in subset order), so memory does not grow with C(N, q).
#pragma once
#include <cstdint>
#include <string>

#include "certify/certificate_reader.hpp"
#include "model/qsa_embedding.hpp"
#include "numeric/format.hpp"

namespace attnbounds {

// The encoding a certificate path asks for: "*.cbor.zst" → CBOR+zstd, "*.cbor" → CBOR, else JSON.
CertificateEncoding certificate_encoding_for_path(const std::string& path);

// Returns the number of subsets written.  Throws std::runtime_error when a subset has no query
// (qsa-rip without a certificate), ConfigError("certificate") when the file cannot be written.
std::uint64_t write_qsa_certificate(const std::string& path, const QsaEmbedding& emb, const Rational& eps,
                                    const Semantics& sem, const std::string& claim,
                                    CertificateEncoding encoding = CertificateEncoding::Json, unsigned threads = 1);

}  // namespace attnbounds
