#include "certify/qsa_certificate.hpp"

#include <fstream>
#include <stdexcept>

#include "certify/qsa_checker.hpp"
#include "core/config_error.hpp"
#include "core/atomic_file.hpp"
#include "enumerate/combinatorics.hpp"

namespace attnbounds {

namespace {
std::string quoted(const Rational& r) { return "\"" + to_exact_decimal_or_fraction(r) + "\""; }
}  // namespace

std::uint64_t write_qsa_certificate(const std::string& path, const QsaEmbedding& emb, const Rational& eps,
                                    const Semantics& sem, const std::string& claim) {
  if (sem.kind == Semantics::Kind::Arith || sem.kind == Semantics::Kind::Tiled)
    throw ConfigError("certificate", "certificates cover exact and embed:<fmt> semantics only (got " + sem.name() + ")");
  // Written under a temporary name and renamed when complete: an interrupted or failed write never
  // leaves a file that looks like a certificate, and never destroys an earlier one.
  AtomicFile file(path);
  std::ostream& os = file.stream();
  const bool rounded = sem.kind == Semantics::Kind::Embed;
  auto value = [&](const Rational& v) { return quoted(rounded ? round_to(sem.format, v) : v); };
  const int N = emb.N(), q = emb.q();
  os << "{\n  \"format\": \"attnbounds-qsa-certificate-1\",\n";
  os << "  \"claim\": \"" << claim << "\",\n  \"N\": " << N << ",\n  \"q\": " << q << ",\n  \"d\": " << emb.d()
     << ",\n  \"m\": " << emb.m() << ",\n";
  os << "  \"bound\": " << quoted(eps) << ",\n  \"semantics\": \"" << sem.name() << "\",\n";
  os << "  \"temperature\": " << quoted(emb.temperature()) << ",\n";
  os << "  \"values\": \"v_j = z_j (the token's own z, rounded to the format under embed); worst case over the unit "
        "ball\",\n";
  os << "  \"keys\": [\n";
  const Mat<Rational>& keys = emb.keys();
  for (int j = 0; j < N; ++j) {
    os << "    [";
    for (std::size_t c = 0; c < keys.cols(); ++c) os << (c ? ", " : "") << value(keys(j, c));
    os << "]" << (j + 1 < N ? "," : "") << "\n";
  }
  os << "  ],\n  \"queries\": [\n";
  const QsaRowSource* src = dynamic_cast<const QsaRowSource*>(&emb);
  auto worker = src ? src->query_worker() : nullptr;
  std::vector<int> S(q);
  for (int k = 0; k < q; ++k) S[k] = k;
  std::uint64_t count = 0, total = binomial(N, q);
  do {
    std::optional<std::vector<Rational>> w;
    if (worker) w = worker->query(S);
    else w = emb.query(S);
    if (!w) {
      std::string s;
      for (int k : S) s += std::to_string(k + 1) + " ";
      throw std::runtime_error("no query for S = { " + s + "}: " + (worker ? worker->missing_reason() : ""));
    }
    os << "    {\"S\": [";
    for (int k = 0; k < q; ++k) os << (k ? ", " : "") << S[k] + 1;
    os << "], \"query\": [";
    for (std::size_t c = 0; c < w->size(); ++c) os << (c ? ", " : "") << value((*w)[c]);
    os << "]}" << (++count < total ? "," : "") << "\n";
  } while (next_subset(S.data(), q, N));
  os << "  ]\n}\n";
  file.commit();
  return count;
}

}  // namespace attnbounds
