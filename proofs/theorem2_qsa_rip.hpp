// Theorem 2 (paper statement): qSA with m = O(d' + q log N) at p = O(log(q log N / ε)) bits.
// Construction [math §4.1; the certificates are ours]:
//   keys u_j ∈ {±1}^{m'} (seeded random signs, coordinate-major so that the keys for m' are a
//   prefix of the keys for m'+1: feasibility is monotone in m'), and for every S a dual
//   certificate w_S with ⟨u_j, w_S⟩ = 1 on S and ≤ 1/2 off S, VERIFIED EXACTLY in integers.
//   Query c·w_S, key u_j, value z_j; gap 1/2; m = d' + 2m'.
// Certificates: `least-norm` (w = U_S (U_Sᵀ U_S)^{-1} 1, exact) or `lp` (least-norm when it passes,
// else the least-norm point with the violated off-S rows pinned to 3/8 (active set), else a GLPK feasibility LP with off-S rows ≤ 3/8 (or ≤ 1/2 − 2^-20 when that is infeasible),
// moved towards the least-norm point as far as the off-S rows allow, rounded to 2^-40 and then
// repaired exactly onto the S rows).  Every certificate is verified in integers.
#pragma once
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "certify/qsa_checker.hpp"
#include "model/qsa_embedding.hpp"

namespace attnbounds {

enum class CertificateMethod { LeastNorm, ActiveSet, Lp };

// w_S = W / D exactly (W integers, D > 0).
struct RipCertificate {
  std::vector<Integer> W;
  Integer D;
  Rational norm_sq_scaled;  // m'·‖w_S‖₂² (the 1/√m' key scaling)
  Rational max_off;         // max_{j∉S} ⟨u_j, w_S⟩ (≤ 1/2)
  std::vector<Integer> scores;  // ⟨u_j, W⟩ for every j (= D on S)
  CertificateMethod method = CertificateMethod::LeastNorm;  // which search produced it
};

class QsaRipEmbedding;

// Statistics of the certificates a QsaRipEmbedding has verified so far.
struct RipCertificateSummary {
  std::string strategy;
  std::string how;  // the certificate search, in words
  std::uint64_t certificate_solves = 0;  // includes re-solves for the report and the forward pass
  std::uint64_t by_least_norm = 0, by_active_set = 0, by_lp = 0;
  // Present once a certificate was verified: upper bounds of max_S √m'·‖w_S‖₂ and of the
  // reference 2√q, the largest off-S score max ⟨u_j, w_S⟩ and the gap 1 − that score (exact).
  std::optional<Rational> max_norm_scaled_upper, norm_reference_upper, max_off_S_score, min_gap;
  int mk = 0, m = 0;
};

// Finds and verifies certificates for one thread (owns a GLPK problem).
class RipCertificateSolver {
 public:
  RipCertificateSolver(const QsaRipEmbedding& emb, bool feasibility_only, bool warm_start);
  ~RipCertificateSolver();
  RipCertificateSolver(const RipCertificateSolver&) = delete;
  RipCertificateSolver& operator=(const RipCertificateSolver&) = delete;
  // S sorted, 0-based.  nullopt when no verified certificate was found (reason()).
  std::optional<RipCertificate> solve(const int* S);
  const std::string& reason() const { return reason_; }

 private:
  std::optional<std::vector<double>> solve_lp(const int* S, double off_upper);
  std::optional<RipCertificate> repair_and_verify(const int* S, const std::vector<double>& w0);
  std::optional<RipCertificate> verify_exact(const int* S, const std::vector<Rational>& w);
  std::optional<RipCertificate> exact_vertex(const int* S);
  std::optional<std::vector<double>> active_set_candidate(const int* S);
  std::optional<std::vector<double>> blend_towards_least_norm(const int* S, const std::vector<double>& lp);
  const QsaRipEmbedding& emb_;
  bool feasibility_only_, warm_start_;
  void* lp_ = nullptr;  // glp_prob*
  std::vector<int> last_S_;
  double off_upper_ = -1;  // current bound of the off-S rows in the LP
  std::string reason_;
};

class QsaRipEmbedding : public QsaEmbedding, public QsaRowSource {
 public:
  explicit QsaRipEmbedding(const QsaEmbeddingParams& p);
  std::string name() const override { return "qsa-rip"; }
  int N() const override { return N_; }
  int q() const override { return q_; }
  int d() const override { return d_; }
  int m() const override { return d_ + 2 * mk_; }
  int mk() const { return mk_; }
  const std::string& strategy() const { return strategy_; }
  const Mat<Rational>& keys() const override { return keys_; }
  const std::vector<std::int8_t>& signs() const { return signs_; }  // N × m', row-major
  // c·w_S; throws std::runtime_error when S has no certificate.
  std::vector<Rational> query(const std::vector<int>& S) const override;
  Rational temperature() const override { return c_; }

  std::unique_ptr<QsaRowWorker> exact_row_worker() const override;
  std::unique_ptr<QsaQueryWorker> query_worker() const override;
  std::optional<std::string> prove_missing(const std::vector<int>& S) const override;

  // Default m' = ceil(2 q log2 N) + 8 (documented; `min-m` finds the seed's true minimum).
  static int default_mk(int N, int q);
  // Records a verified certificate's statistics (thread-safe, order-independent).
  void record(const RipCertificate& cert) const;
  RipCertificateSummary summary() const;

 private:
  int N_, q_, d_, mk_;
  std::string strategy_;
  Rational c_;
  std::vector<std::int8_t> signs_;
  Mat<Rational> keys_;
  mutable std::mutex stats_mutex_;
  mutable std::uint64_t certified_ = 0, by_lp_ = 0, by_active_set_ = 0;
  mutable Rational max_norm_sq_ = 0, max_off_ = -1000000;
};

// The smallest m' ≤ mk_max for which every S ∈ ([N] choose q) gets a verified certificate with
// the given seed and strategy (binary search: feasibility is monotone in m' by the key prefix
// property).  first_missing receives a subset without a certificate at m'* − 1 (0-based).
struct RipMinMResult {
  int mk_star = -1;  // -1: none up to mk_max
  std::vector<int> missing_at_below;  // S at m'* − 1 without a certificate
  std::string below_proof;            // exact Farkas proof that S has none at m'* − 1 (empty: not proven)
  int tested = 0;
};
// An exact proof that no w has ⟨u_j,w⟩ = 1 on S and ≤ 1/2 off S (a Farkas certificate found by
// GLPK and re-solved and verified in rationals), or nullopt when none was verified.
std::optional<std::string> rip_prove_no_certificate(const QsaRipEmbedding& emb, const int* S);

RipMinMResult rip_min_mk(int N, int q, std::uint64_t seed, const std::string& strategy, int mk_max, unsigned threads);

}  // namespace attnbounds
