// Writes a replayable qSA certificate (math §6): keys, one query per subset, bound, semantics.
// Every number is an exact decimal or "p/q" string; the score of key j in a row is exactly
// ⟨query, key_j⟩ (temperature inside the query).  Under embed:<fmt> the written keys and queries
// are the rounded ones.
#pragma once
#include <cstdint>
#include <string>

#include "model/qsa_embedding.hpp"
#include "numeric/format.hpp"

namespace attnbounds {

// Returns the number of subsets written.  Throws std::runtime_error when a subset has no query
// (qsa-rip without a certificate), ConfigError("certificate") when the file cannot be written.
std::uint64_t write_qsa_certificate(const std::string& path, const QsaEmbedding& emb, const Rational& eps,
                                    const Semantics& sem, const std::string& claim);

}  // namespace attnbounds
