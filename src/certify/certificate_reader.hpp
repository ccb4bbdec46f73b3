// Strict reader of the qSA certificate format attnbounds-qsa-certificate-1
// (docs/certificate-format.md).  It accepts exactly the documented format: the exact key set, no
// duplicate keys, integers of JSON integer type within their ranges (never wrapped), numbers as
// exact decimal or p/q strings, every q-subset exactly once, consistent dimensions, and under
// embed:<fmt> only representable entries.  Anything else is std::invalid_argument, one line.
// It shares nothing with the checker; replay.cpp evaluates what it returns.
#pragma once
#include <istream>
#include <string>
#include <vector>

#include "numeric/rational.hpp"

namespace attnbounds {

struct QsaCertificateRow {
  std::vector<int> S;  // 0-based, strictly increasing
  std::vector<Rational> query;
};

struct QsaCertificate {
  std::string claim;      // qsa-cyclic | qsa-rip
  std::string semantics;  // exact | embed:<fmt>
  int N = 0, q = 0, d = 0, m = 0;
  Rational bound, temperature;
  std::vector<std::vector<Rational>> keys;  // N vectors of one width
  std::vector<QsaCertificateRow> rows;      // C(N, q) rows, each subset once (file order)
};

// Reads and validates; rows are taken out while parsing so a large certificate never exists as a
// whole JSON tree in memory.
QsaCertificate read_qsa_certificate(std::istream& in);

}  // namespace attnbounds
