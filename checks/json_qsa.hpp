// JSON writers of the qSA results (math §7 fields): the library returns typed results, these are
// the only places that turn them into the JSON the commands print.
#pragma once
#include <string>

#include "certify/qsa_checker.hpp"
#include "proofs/theorem2_qsa_rip.hpp"
#include "checks/result_json.hpp"

namespace attnbounds {

// The check fields of a result (cases, reduction, worst with its witness, bound, counts); the
// caller adds the common fields.  d is the value width d' of the witness vectors z_j.
void write_qsa_check(json& out, const QsaCheckResult& r, int d, const Rational& eps);

// "certificates" of a qsa-rip check.
json rip_certificate_summary_json(const RipCertificateSummary& s);


}  // namespace attnbounds
