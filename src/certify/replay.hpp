// Independent replay of a qSA certificate (math §6).  Deliberately shares no row-evaluation code
// with the checker: scores are recomputed from the file in exact rationals, the softmax and the
// worst case Σ_j |a_j − t_j| are enclosed with MPFI here, at rising precision.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/verdict.hpp"
#include "certify/certificate_reader.hpp"
#include "numeric/rational.hpp"

namespace attnbounds {

struct ReplayReport {
  Verdict verdict = Verdict::Undecided;
  std::string claim, semantics;
  int N = 0, q = 0;
  std::uint64_t rows = 0;
  Rational bound, worst_lower, worst_upper;
  std::vector<int> worst_S;         // 1-based
  std::vector<int> first_bad_S;     // 1-based: first row above the bound or undecided
  std::string problem;              // a structural defect of the file (missing subset, bad number)
  std::string encoding;             // json | cbor | cbor+zstd
};

// Throws std::invalid_argument for an unreadable file or one that is not exactly in the documented
// format (docs/certificate-format.md), in any of its encodings.  Rows are evaluated as they are
// read, in a fixed amount of memory; a report exists only for a file the reader accepted whole.
// "fails" means a row whose enclosure lies above the bound: a verified counterexample.
// With double_filter, rows are first decided in certified double intervals by the replayer's own
// row formula and MPFI runs only where that does not decide (and for the worst row's enclosure);
// without it every row goes through MPFI, sharing no arithmetic with the checkers' fast
// evaluators.  The report is the same either way (tested).
ReplayReport replay_qsa_certificate(const std::string& path, unsigned threads, bool double_filter = true);

}  // namespace attnbounds
