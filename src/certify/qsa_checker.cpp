#include "certify/qsa_checker.hpp"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "core/config_error.hpp"
#include "core/filtered_sweep.hpp"
#include "core/semantics_policy.hpp"
#include "enumerate/combinatorics.hpp"
#include "enumerate/parallel.hpp"
#include "model/attention.hpp"
#include "numeric/format_real.hpp"
#include "tasks/tasks.hpp"

namespace attnbounds {

// The conversions of numeric/dinterval.hpp (directed rounding composes: rounding x down to 64
// bits and then to a double is rounding it down to a double, so this equals the MPFI route used
// before, bit for bit).
DInterval dinterval_of(const Rational& x) { return DInterval::from_rational(x); }
DInterval dinterval_of(Int128 x) { return DInterval::from_int128(x); }

DInterval qsa_add_underflow_terms(DInterval sum, std::uint64_t k) {
  // One addition is {down(lo + 0), up(hi + 2^-1074)}.  lo + 0 = lo, so lo takes k steps down.
  // Once hi ≥ 2^-1020 its ulp is at least 2^-1072, so hi + 2^-1074 rounds back to hi and the
  // addition is one step up.  Below that, and for non-finite endpoints, the additions are done
  // one by one.
  const DInterval tiny = qsa_underflow_term();
  constexpr double kStepRegion = 0x1p-1020, kFar = 0x1p+1000;
  double lo = sum.lower(), hi = sum.upper();
  const bool plain = std::isfinite(lo) && std::isfinite(hi) && std::fabs(lo) < kFar && hi < kFar && k < (1ULL << 40);
  if (!plain) {
    for (std::uint64_t i = 0; i < k; ++i) sum += tiny;
    return sum;
  }
  std::uint64_t k_hi = k;
  // 0 <= hi < 2^-1021: there the spacing of doubles is 2^-1074, so hi + 2^-1074 is exact (at
  // most 2^-1021, itself a double) and the outward step adds one more 2^-1074: each addition
  // adds 2 to hi's bit pattern, as long as the pattern before it is below that of 2^-1021.
  if (k_hi > 0 && hi >= 0) {
    constexpr std::uint64_t kEven = std::bit_cast<std::uint64_t>(0x1p-1021);
    const std::uint64_t b = hi == 0 ? 0 : std::bit_cast<std::uint64_t>(hi);  // -0 counts as +0
    if (b < kEven) {
      const std::uint64_t steps = std::min<std::uint64_t>(k_hi, (kEven - 1 - b) / 2 + 1);
      hi = std::bit_cast<double>(b + 2 * steps);
      k_hi -= steps;
    }
  }
  while (k_hi > 0 && !(hi >= kStepRegion)) {
    hi = (DInterval(0.0, hi) + tiny).upper();
    --k_hi;
  }
  hi = std::bit_cast<double>(std::bit_cast<std::uint64_t>(hi) + k_hi);  // k_hi steps up (hi > 0)
  // lo: positive values step down by bit decrements to +0, then −2^-1074, −2·2^-1074, ...
  // (−0 steps to −2^-1074 as well).
  std::uint64_t k_lo = k;
  if (lo > 0) {
    const std::uint64_t b = std::bit_cast<std::uint64_t>(lo);
    if (k_lo <= b) {
      lo = std::bit_cast<double>(b - k_lo);
      k_lo = 0;
    } else {
      k_lo -= b;
      lo = 0.0;
    }
  }
  if (k_lo > 0) lo = std::bit_cast<double>((std::bit_cast<std::uint64_t>(-0.0) | std::bit_cast<std::uint64_t>(lo)) + k_lo);
  return {lo, hi};
}

DInterval qsa_row_error_fast(const DInterval* r, const std::uint8_t* in_S, int N, int q, DInterval* e) {
  // exp(x) < 2^-1075 below −746: the enclosure [0, smallest subnormal] avoids libm's underflow path.
  constexpr double kUnderflow = kQsaUnderflowScore;
  const DInterval tiny = qsa_underflow_term();
  bool equal_on_S = true;
  DInterval off(0.0);
  for (int j = 0; j < N; ++j) {
    e[j] = r[j].upper() < kUnderflow ? tiny : exp(r[j]);
    if (in_S[j]) equal_on_S = equal_on_S && r[j].lower() == 0.0 && r[j].upper() == 0.0;
    else off += e[j];
  }
  if (equal_on_S) {
    // Every S score is exactly the maximum: a_j = 1/(q+O) on S, so Σ|a−t| = 2O/(q+O) exactly,
    // an enclosure with relative (not absolute) accuracy.
    return DInterval(2.0) * off / (DInterval(q) + off);
  }
  DInterval Z = off;
  for (int j = 0; j < N; ++j)
    if (in_S[j]) Z += e[j];
  const DInterval t = DInterval(1.0) / DInterval(q);
  DInterval on(0.0);
  for (int j = 0; j < N; ++j)
    if (in_S[j]) on += abs(e[j] / Z - t);
  return on + off / Z;
}

Interval qsa_row_error_interval(const std::vector<Rational>& r, const std::vector<int>& S, mpfr_prec_t bits,
                                std::vector<int>* signs) {
  const int N = static_cast<int>(r.size()), q = static_cast<int>(S.size());
  std::vector<std::uint8_t> in_S(N, 0);
  for (int k : S) in_S[k] = 1;
  bool equal_on_S = true;
  for (int k : S) equal_on_S = equal_on_S && r[k] == 0;
  std::vector<Interval> e;
  e.reserve(N);
  Interval off(0L, bits), Z(0L, bits);
  for (int j = 0; j < N; ++j) {
    e.push_back(exp(Interval(r[j], bits)));
    Z += e.back();
    if (!in_S[j]) off += e.back();
  }
  const Interval t = Interval(1L, bits) / Interval(static_cast<long>(q), bits);
  const Interval zero(0L, bits);
  if (signs) signs->assign(N, 1);
  Interval E(0L, bits);
  for (int j = 0; j < N; ++j) {
    Interval diff = e[j] / Z - (in_S[j] ? t : zero);
    if (!equal_on_S) E += abs(diff);
    // mpfi's own predicate: converting tiny endpoints to rationals could be enormous.
    if (signs && mpfi_is_strictly_neg(diff.get()) > 0) (*signs)[j] = -1;
  }
  if (equal_on_S) {
    E = Interval(2L, bits) * off / (Interval(static_cast<long>(q), bits) + off);
    // Exactly: a_j − 1/q = −O/(q(q+O)) < 0 on S, a_j > 0 off S.
    if (signs)
      for (int j = 0; j < N; ++j) (*signs)[j] = in_S[j] ? -1 : 1;
  }
  return E;
}

IntervalBounds safe_bounds(const Interval& x) {
  Interval::Bounds b = x.widened_bounds();
  if (b.lower < 0) b.lower = 0;  // the quantities bounded here are nonnegative
  return {b.lower, b.upper};
}

QsaInput qsa_witness_input(int N, int d, const std::vector<int>& S, const std::vector<int>& signs) {
  QsaInput x{Mat<Rational>(N, d), std::vector<std::vector<int>>(N, S)};
  for (int j = 0; j < N; ++j) x.z(j, 0) = signs[j] < 0 ? -1 : 1;
  return x;
}

namespace {

// The qSA policy (qsa_checker.hpp kQsaSemantics) without naming a claim: for the forward pass,
// whose callers have already been refused or accepted by check_qsa.
SemanticsPolicy forward_policy(const Semantics& s) { return SemanticsPolicy(s, kExactEmbedArith, "qSA forward pass"); }

// max ‖round(z) − z‖ over unit vectors z (math §2 rounding, to nearest): float:P relative 2^-P,
// fixed:I.F at most 2^{-F-1} per entry (√d' ≤ d' entries' worth).
Rational z_rounding_slack(const Semantics& s, int d) {
  if (s.kind == Semantics::Kind::Exact) return 0;
  Rational one(1);
  if (s.format.kind == Format::Kind::Float) {
    mpz_class den;
    mpz_ui_pow_ui(den.get_mpz_t(), 2, s.format.P);
    return one / Rational(den);
  }
  if (s.format.kind == Format::Kind::Bounded) {
    // Each coordinate of z (|x| <= 1, far below any overflow) is off by <= u|x| + a (a: the
    // subnormal spacing), so ||round(z) - z|| <= u||z|| + sqrt(d') a <= u + d' a.
    const RoundingErrorBound e = rounding_error_bound(s.format);
    return e.relative + Rational(d) * e.absolute;
  }
  mpz_class den;
  mpz_ui_pow_ui(den.get_mpz_t(), 2, s.format.F + 1);
  return Rational(d) / Rational(den);
}

// Rounding error of the arith weighted sum Σ_j fl(a_j z_j) (recursive summation from 0), per unit
// of Σ_j a_j ‖ẑ_j‖: float γ_N = Nu/(1−Nu), u = 2^-P; fixed: N products each off by ≤ 2^{-F-1},
// sums exact, over d' coordinates (√d' ≤ d').
Rational arith_sum_slack_factor(const Format& f, int N, int d, bool* per_unit) {
  // The bound below is relative (float:P) or absolute (fixed); a bounded-exponent format mixes
  // both (underflow), which it does not cover: kQsaSemantics refuses arith with those formats.
  if (f.kind == Format::Kind::Bounded) throw std::logic_error("qSA arith bound: bounded formats are refused by the policy");
  mpz_class den;
  if (f.kind == Format::Kind::Float) {
    *per_unit = true;
    mpz_ui_pow_ui(den.get_mpz_t(), 2, f.P);
    Rational u = Rational(1) / Rational(den);
    Rational Nu = Rational(N) * u;
    if (Nu < 1) return Nu / (1 - Nu);
    // γ_N needs Nu < 1; the general bound (1 + u)^N − 1 ≤ exp(Nu) − 1 holds always (upper end of
    // an MPFI enclosure).  A fixed 10^6 used to stand here: not a bound once (1 + u)^N > 10^6.
    return (exp(Interval(Nu, 64)) - Interval(1L, 64)).upper();
  }
  *per_unit = false;
  mpz_ui_pow_ui(den.get_mpz_t(), 2, f.F + 1);
  return Rational(N) * Rational(d) / Rational(den);
}

// Rows from exact queries (embed semantics, or constructions without an integer fast path).
class QueryRowWorker : public QsaRowWorker {
 public:
  QueryRowWorker(std::unique_ptr<QsaQueryWorker> qw, const Mat<Rational>& keys, const SemanticsPolicy& policy)
      : qw_(std::move(qw)), keys_(keys), policy_(policy), scores_(keys.rows()) {}
  bool row(const int* S, DInterval* r) override {
    std::vector<int> s(S, S + q_of());
    auto query = qw_->query(s);
    if (!query) return false;
    const std::size_t N = keys_.rows(), k = keys_.cols();
    for (auto& v : *query) v = policy_.stored(v);
    std::size_t arg = 0;
    for (std::size_t j = 0; j < N; ++j) {
      Rational acc = 0;
      for (std::size_t c = 0; c < k; ++c) acc += (*query)[c] * keys_(j, c);
      scores_[j] = acc;
      if (scores_[j] > scores_[arg]) arg = j;
    }
    const Rational top = scores_[arg];
    for (std::size_t j = 0; j < N; ++j) {
      scores_[j] -= top;
      r[j] = dinterval_of(scores_[j]);
    }
    return true;
  }
  std::vector<Rational> exact_differences() override { return scores_; }
  std::string missing_reason() const override { return qw_->missing_reason(); }
  void set_q(int q) { q_ = q; }

 private:
  int q_of() const { return q_; }
  std::unique_ptr<QsaQueryWorker> qw_;
  const Mat<Rational>& keys_;
  const SemanticsPolicy& policy_;
  std::vector<Rational> scores_;
  int q_ = 0;
};

// Queries straight from the embedding (no per-thread state).
class PlainQueryWorker : public QsaQueryWorker {
 public:
  explicit PlainQueryWorker(const QsaEmbedding& e) : e_(e) {}
  std::optional<std::vector<Rational>> query(const std::vector<int>& S) override {
    try {
      return e_.query(S);
    } catch (const std::runtime_error& err) {
      reason_ = err.what();
      return std::nullopt;
    }
  }
  std::string missing_reason() const override { return reason_; }

 private:
  const QsaEmbedding& e_;
  std::string reason_;
};

// One row in the generic filtered sweep (core/filtered_sweep.hpp).  Group 0: rows; group 1:
// subsets without a row (qsa-rip with no certificate), state Fails until the verdict asks for an
// exact proof that none exists.  The tally keeps the row of largest certified upper bound.
struct QsaRowOutcome {
  CaseState st = CaseState::Open;
  bool missing = false;
  bool decided = false;  // more precision cannot change st
  double upper = -1;     // certified upper bound of the row's worst case, rounded up
  CaseState state() const { return st; }
  bool settled() const { return decided; }
  double rank() const { return missing ? std::numeric_limits<double>::infinity() : -upper; }
  int group() const { return missing ? 1 : 0; }
  static QsaRowOutcome absent() { return {CaseState::Fails, true, true, 0}; }
};

// Exact details of one row: certified enclosure (slack included in upper) and signs.
struct RowDetail {
  bool present = false;
  Rational lower, upper;
  std::vector<int> signs;
  std::string missing_reason;
};

// The fast and exact evaluators of one row, with the scratch of one thread.
class RowEvaluator {
 public:
  virtual ~RowEvaluator() = default;
  virtual QsaRowOutcome fast(const int* S) = 0;
  // Called only right after fast(S) on the same S, when fast could not settle the row.
  virtual QsaRowOutcome exact(const int* S, mpfr_prec_t bits) = 0;
  virtual RowDetail detail(const std::vector<int>& S) = 0;
};

struct Setup {
  const QsaEmbedding& emb;
  const QsaCheckOptions& opts;
  const SemanticsPolicy& policy;
  int N, q, d;
  Rational slack;          // z rounding (embed/arith)
  Mat<Rational> keys;      // rounded under embed/arith
  DInterval eps_fast, slack_fast;
};


// Exact and embed semantics: DInterval filter, MPFI fallback at rising precision.
class FilteredEvaluator : public RowEvaluator {
 public:
  explicit FilteredEvaluator(const Setup& s) : s_(s), r_(s.N), e_(s.N), in_S_(s.N, 0) {
    const QsaRowSource* src = dynamic_cast<const QsaRowSource*>(&s.emb);
    if (s.policy.exact() && src) {
      worker_ = src->exact_row_worker();
    } else {
      auto w = std::make_unique<QueryRowWorker>(make_query_worker(s.emb), s.keys, s.policy);
      w->set_q(s.q);
      worker_ = std::move(w);
    }
  }
  QsaRowOutcome fast(const int* S) override {
    have_exact_ = false;
    DInterval E;
    if (!worker_->row_error(S, E)) {
      if (!worker_->row(S, r_.data())) return QsaRowOutcome::absent();
      for (int k = 0; k < s_.q; ++k) in_S_[S[k]] = 1;
      E = qsa_row_error_fast(r_.data(), in_S_.data(), s_.N, s_.q, e_.data());
      for (int k = 0; k < s_.q; ++k) in_S_[S[k]] = 0;
    }
    DInterval hi = E + s_.slack_fast;
    if (hi.upper() <= s_.eps_fast.lower()) return {CaseState::Holds, false, true, hi.upper()};
    if (E.lower() > s_.eps_fast.upper()) return {CaseState::Fails, false, true, hi.upper()};
    return {CaseState::Open, false, false, hi.upper()};  // the double enclosure straddles ε
  }
  // Exact score differences (taken once per row), MPFI at `bits`.
  QsaRowOutcome exact(const int* S, mpfr_prec_t bits) override {
    if (!have_exact_) {
      exact_ = worker_->exact_differences();
      sv_.assign(S, S + s_.q);
      have_exact_ = true;
    }
    IntervalBounds Eb = safe_bounds(qsa_row_error_interval(exact_, sv_, bits));
    Rational up = Eb.upper + s_.slack;
    const CaseState st = up <= s_.opts.eps ? CaseState::Holds : Eb.lower > s_.opts.eps ? CaseState::Fails : CaseState::Open;
    return {st, false, st != CaseState::Open, mpq_upper(up)};
  }
  RowDetail detail(const std::vector<int>& S) override {
    RowDetail d;
    if (!worker_->row(S.data(), r_.data())) {
      d.missing_reason = worker_->missing_reason();
      return d;
    }
    d.present = true;
    IntervalBounds Eb =
        safe_bounds(qsa_row_error_interval(worker_->exact_differences(), S, kLadderStartBits, &d.signs));
    d.lower = Eb.lower;
    d.upper = Eb.upper + s_.slack;
    return d;
  }

 private:
  static double mpq_upper(const Rational& x) { return dinterval_of(x).upper(); }
  const Setup& s_;
  std::unique_ptr<QsaRowWorker> worker_;
  std::vector<DInterval> r_, e_;
  std::vector<std::uint8_t> in_S_;
  bool have_exact_ = false;  // exact_ and sv_ describe the row of the last fast()
  std::vector<Rational> exact_;
  std::vector<int> sv_;
};

// arith:<fmt>: the softmax is run in FormatReal (attention.hpp order).  Upper bound:
// Σ|â_j − t_j| + (Σâ)ρ + (rounding of the weighted sum); lower bound: the error the model
// actually makes on the witness z_j = sign(â_j − t_j)e_1, computed exactly.
class ArithEvaluator : public RowEvaluator {
 public:
  explicit ArithEvaluator(const Setup& s) : s_(s), qw_(make_query_worker(s.emb)) {
    sum_factor_ = arith_sum_slack_factor(s.opts.semantics.format, s.N, s.d, &per_unit_);
  }
  // Exact rational arithmetic: every row is settled by the first evaluation.
  QsaRowOutcome fast(const int* S) override {
    RowDetail d = detail(std::vector<int>(S, S + s_.q));
    if (!d.present) return QsaRowOutcome::absent();
    double up = dinterval_of(d.upper).upper();
    if (d.upper <= s_.opts.eps) return {CaseState::Holds, false, true, up};
    if (d.lower > s_.opts.eps) return {CaseState::Fails, false, true, up};
    return {CaseState::Open, false, true, up};
  }
  QsaRowOutcome exact(const int* S, mpfr_prec_t) override { return fast(S); }
  RowDetail detail(const std::vector<int>& S) override {
    RowDetail d;
    auto query = qw_->query(S);
    if (!query) {
      d.missing_reason = qw_->missing_reason();
      return d;
    }
    d.present = true;
    const Format& f = s_.opts.semantics.format;
    ArithFormatScope scope(f);
    const int N = s_.N, k = static_cast<int>(s_.keys.cols());
    std::vector<FormatReal> qv, scores(N), a(N);
    for (const auto& v : *query) qv.emplace_back(v, f);
    for (int j = 0; j < N; ++j) {
      FormatReal acc(0);
      for (int c = 0; c < k; ++c) acc += qv[c] * FormatReal(s_.keys(j, c), f);
      scores[j] = acc;
    }
    softmax(scores.data(), N, a.data());
    std::vector<std::uint8_t> in_S(N, 0);
    for (int j : S) in_S[j] = 1;
    const Rational t = Rational(1, s_.q);
    Rational E = 0, mass = 0;
    d.signs.assign(N, 1);
    FormatReal out(0);
    Rational target = 0;
    for (int j = 0; j < N; ++j) {
      Rational diff = a[j].value() - (in_S[j] ? t : Rational(0));
      E += abs(diff);
      mass += a[j].value();
      if (diff < 0) d.signs[j] = -1;
      out += a[j] * FormatReal(d.signs[j]);
      if (in_S[j]) target += Rational(d.signs[j]) * t;
    }
    d.lower = abs(out.value() - target);
    Rational sum_slack = per_unit_ ? sum_factor_ * mass * (1 + s_.slack) : sum_factor_;
    d.upper = E + mass * s_.slack + sum_slack;
    if (d.upper < d.lower) d.upper = d.lower;  // cannot happen; keeps the enclosure ordered
    return d;
  }

 private:
  const Setup& s_;
  std::unique_ptr<QsaQueryWorker> qw_;
  Rational sum_factor_;
  bool per_unit_ = true;
};

std::unique_ptr<RowEvaluator> make_evaluator(const Setup& s) {
  if (s.policy.arith()) return std::make_unique<ArithEvaluator>(s);
  return std::make_unique<FilteredEvaluator>(s);
}

// The qSA check as a problem of the generic filtered sweep: one case per subset S (by rank in
// the colex order of enumerate/combinatorics.hpp), one outcome per case.
struct QsaSweepProblem {
  using Case = const int*;  // the sorted subset, q entries
  using Outcome = QsaRowOutcome;
  using Worker = std::unique_ptr<RowEvaluator>;
  static constexpr int groups = 2;
  const Setup& setup;
  std::uint64_t count;

  std::uint64_t cases() const { return count; }
  unsigned outcomes_per_case() const { return 1; }
  Worker make_worker() const { return make_evaluator(setup); }
  template <class F>
  void enumerate(std::uint64_t begin, std::uint64_t end, F&& f) const {
    std::vector<int> S(setup.q);
    unrank_subset(begin, setup.N, setup.q, S.data());
    for (std::uint64_t rank = begin; rank < end; ++rank) {
      f(rank, S.data());
      next_subset(S.data(), setup.q, setup.N);
    }
  }
  void fast(Worker& w, const Case& S, Outcome* out) const { *out = w->fast(S); }
  void exact(Worker& w, const Case& S, mpfr_prec_t bits, Outcome* out) const { *out = w->exact(S, bits); }
};
using QsaTally = TallyOf<QsaSweepProblem>;

// A chunk's tally as text (journals, MPI): the largest row upper bound by its bit pattern, then
// in hex the rank of that row, of the first failing, undecided and missing rows (all ones: none),
// the fallback, undecided, failing and missing counts, and the rows folded.  Only what the
// verdict reads is kept: the states of the recorded rows are implied by their roles.
constexpr std::uint64_t kNoRank = std::numeric_limits<std::uint64_t>::max();
std::string encode_tally(const QsaTally& t) {
  auto rank_of = [](const std::optional<IndexedOutcome<QsaRowOutcome>>& o) { return o ? o->index : kNoRank; };
  const auto& worst = t.worst[0];
  const std::uint64_t fields[] = {std::bit_cast<std::uint64_t>(worst ? worst->outcome.upper : -1.0),
                                  rank_of(worst),
                                  rank_of(t.group_first_failure[0]),
                                  rank_of(t.first_undecided),
                                  rank_of(t.group_first_failure[1]),
                                  t.fallbacks,
                                  t.undecided,
                                  t.group_failures[0],
                                  t.group_failures[1],
                                  t.cases};
  std::string out;
  char buf[20];
  for (std::uint64_t f : fields) {
    std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(f));
    if (!out.empty()) out += ',';
    out += buf;
  }
  return out;
}

QsaTally decode_tally(const std::string& text) {
  constexpr int kFields = 10;
  std::uint64_t f[kFields];
  std::size_t pos = 0;
  for (int i = 0; i < kFields; ++i) {
    const std::size_t end = i < kFields - 1 ? text.find(',', pos) : text.size();
    if (end == std::string::npos || end == pos) throw std::runtime_error("qsa: malformed chunk record '" + text + "'");
    std::size_t used = 0;
    try {
      f[i] = std::stoull(text.substr(pos, end - pos), &used, 16);
    } catch (const std::exception&) {
      throw std::runtime_error("qsa: malformed chunk record '" + text + "'");
    }
    if (used != end - pos) throw std::runtime_error("qsa: malformed chunk record '" + text + "'");
    pos = end + 1;
  }
  QsaTally t;
  auto row = [](std::uint64_t rank, QsaRowOutcome o) -> std::optional<IndexedOutcome<QsaRowOutcome>> {
    if (rank == kNoRank) return std::nullopt;
    return IndexedOutcome<QsaRowOutcome>{rank, o};
  };
  t.worst[0] = row(f[1], {CaseState::Holds, false, true, std::bit_cast<double>(f[0])});
  t.group_first_failure[0] = row(f[2], {CaseState::Fails, false, true, 0});
  t.first_undecided = row(f[3], {CaseState::Open, false, false, 0});
  t.group_first_failure[1] = row(f[4], QsaRowOutcome::absent());
  t.worst[1] = t.group_first_failure[1];  // every missing row ties at rank +inf: the first is kept
  t.first_failure = t.group_first_failure[0];
  if (t.group_first_failure[1] && (!t.first_failure || t.group_first_failure[1]->index < t.first_failure->index))
    t.first_failure = t.group_first_failure[1];
  t.fallbacks = f[5];
  t.undecided = f[6];
  t.group_failures[0] = f[7];
  t.group_failures[1] = f[8];
  t.failures = f[7] + f[8];
  t.cases = f[9];
  return t;
}

std::vector<int> subset_of_rank(std::uint64_t rank, int N, int q) {
  std::vector<int> S(q);
  unrank_subset(rank, N, q, S.data());
  return S;
}

}  // namespace

std::unique_ptr<QsaQueryWorker> make_query_worker(const QsaEmbedding& emb) {
  if (auto* src = dynamic_cast<const QsaRowSource*>(&emb)) return src->query_worker();
  return std::make_unique<PlainQueryWorker>(emb);
}

Mat<Interval> qsa_forward(const QsaEmbedding& emb, const QsaInput& x, const Semantics& sem, mpfr_prec_t bits) {
  const int N = emb.N();
  const Mat<Rational>& keys = emb.keys();
  const std::size_t k = keys.cols(), d = x.z.cols();
  const SemanticsPolicy policy = forward_policy(sem);
  if (policy.arith()) {
    ArithFormatScope scope(sem.format);
    QKV<FormatReal> h{Mat<FormatReal>(N, k), Mat<FormatReal>(N, k), Mat<FormatReal>(N, d)};
    for (int i = 0; i < N; ++i) {
      auto qv = emb.query(x.y[i]);
      for (std::size_t c = 0; c < k; ++c) {
        h.queries(i, c) = FormatReal(qv[c], sem.format);
        h.keys(i, c) = FormatReal(keys(i, c), sem.format);
      }
      for (std::size_t c = 0; c < d; ++c) h.values(i, c) = FormatReal(x.z(i, c), sem.format);
    }
    Mat<FormatReal> out = attention_unit(h);
    return Mat<Interval>::from(out, [&](const FormatReal& v) { return Interval(v.value(), bits); });
  }
  WorkingPrecision wp(bits);
  QKV<Interval> h{Mat<Interval>(N, k), Mat<Interval>(N, k), Mat<Interval>(N, d)};
  for (int i = 0; i < N; ++i) {
    auto qv = emb.query(x.y[i]);
    for (std::size_t c = 0; c < k; ++c) {
      h.queries(i, c) = Interval(policy.stored(qv[c]), bits);
      h.keys(i, c) = Interval(policy.stored(keys(i, c)), bits);
    }
    for (std::size_t c = 0; c < d; ++c) h.values(i, c) = Interval(policy.stored(x.z(i, c)), bits);
  }
  return attention_unit(h);
}

namespace {
// Row upper bounds below this (2^-1000) come from the filter's underflow handling, not from a
// relative error bound; at most this many rows are then re-enclosed with MPFI.
constexpr double kTinyRowUpper = 0x1p-1000;
constexpr std::uint64_t kTinyResweepRows = 1u << 16;
}  // namespace

QsaCheckResult check_qsa(const QsaEmbedding& emb, const QsaCheckOptions& opts) {
  const SemanticsPolicy policy(opts.semantics, kQsaSemantics, "the qSA checker");
  const int N = emb.N(), q = emb.q(), d = emb.d();
  Setup setup{emb, opts, policy, N, q, d, z_rounding_slack(opts.semantics, d), emb.keys(), {}, {}};
  setup.keys = Mat<Rational>::from(emb.keys(), [&](const Rational& v) { return policy.stored(v); });
  setup.eps_fast = dinterval_of(opts.eps);
  setup.slack_fast = dinterval_of(setup.slack);

  QsaCheckResult res;
  res.cases = binomial(N, q);
  res.rounding_slack = setup.slack;
  res.reduction =
      "keys depend only on j and a token's query only on y_i, so the attention row of token i depends only on "
      "S = y_i: all " + std::to_string(res.cases) + " subsets S in ([N] choose q) cover all inputs; for each row "
      "sup_z ||sum_j (a_j - t_j) z_j|| = sum_j |a_j - t_j| (attained at z_j = sign(a_j - t_j) e_1)";
  if (auto* src = dynamic_cast<const QsaRowSource*>(&emb); src && policy.exact() && !src->row_pruning().empty())
    res.reduction += "; " + src->row_pruning();
  switch (opts.semantics.kind) {
    case Semantics::Kind::Exact:
      res.bound_derivation = "exact: worst case sum_j |a_j - t_j| enclosed with DInterval (MPFI fallback)";
      break;
    case Semantics::Kind::Embed:
      res.bound_derivation =
          "embed: query, key and z entries rounded to " + opts.semantics.format.name() +
          "; lower = sum_j |a_j - t_j| (attained by z_j = ±e_1, exactly representable); upper = lower + rho, "
          "rho = max ||round(z) - z|| over unit z (" + to_exact_string(setup.slack) + ")";
      break;
    case Semantics::Kind::Arith:
      res.bound_derivation =
          "arith: query/key/z rounded to " + opts.semantics.format.name() +
          ", scores and softmax in FormatReal; lower = exact error of the model on z_j = sign(a_j - t_j) e_1; "
          "upper = sum_j |a_j - t_j| + (sum a) rho + rounding bound of the weighted sum (float: gamma_N = Nu/(1-Nu); "
          "fixed: N d' 2^-(F+1))";
      break;
    default: break;
  }

  SweepControl<QsaSweepProblem> control;
  control.progress = opts.progress;
  control.hooks = opts.hooks;
  control.codec = {&encode_tally, &decode_tally};
  const QsaTally tally = filtered_sweep(QsaSweepProblem{setup, res.cases}, opts.threads, control);

  res.fallback_rows = tally.fallbacks;
  res.undecided_rows = tally.undecided;
  res.failing_rows = tally.group_failures[0];
  res.missing_rows = tally.group_failures[1];
  auto rank_of = [](const std::optional<IndexedOutcome<QsaRowOutcome>>& o) { return o ? o->index : kNoRank; };
  const std::uint64_t worst_rank = rank_of(tally.worst[0]);
  const double worst_upper = tally.worst[0] ? tally.worst[0]->outcome.upper : -1.0;

  auto eval = make_evaluator(setup);
  std::uint64_t report_rank = worst_rank;
  if (res.failing_rows > 0) {
    res.verdict = Verdict::Fails;
    RowDetail worst = eval->detail(subset_of_rank(worst_rank, N, q));
    if (!(worst.present && worst.lower > opts.eps)) report_rank = rank_of(tally.group_first_failure[0]);
  } else if (res.missing_rows > 0) {
    res.verdict = Verdict::Fails;
    report_rank = rank_of(tally.group_first_failure[1]);
  } else if (tally.undecided > 0) {
    res.verdict = Verdict::Undecided;
    report_rank = rank_of(tally.first_undecided);
  } else {
    res.verdict = Verdict::Holds;
  }
  if (report_rank == kNoRank) return res;  // nothing evaluated
  res.witness_S = subset_of_rank(report_rank, N, q);
  RowDetail det = eval->detail(res.witness_S);
  if (!det.present) {
    res.missing_reason = det.missing_reason.empty() ? "no row for this subset" : det.missing_reason;
    // "fails" needs proof that the construction has no row for S; otherwise undecided.
    if (auto* src = dynamic_cast<const QsaRowSource*>(&emb))
      if (auto proof = src->prove_missing(res.witness_S)) res.missing_proof = *proof;
    if (res.missing_proof.empty()) res.verdict = Verdict::Undecided;
    return res;
  }
  // worst.lower / worst.upper enclose the maximum over all rows, whichever row is reported: the
  // upper end is the largest certified row upper bound of the sweep (it bounds every row, and
  // rows closer than the filter's resolution may be ranked in either order); the lower end is the
  // largest certified lower bound among the reported row and the row of that largest upper bound.
  res.worst_lower = det.lower;
  res.worst_upper = det.upper;
  if (std::isfinite(worst_upper)) res.worst_upper = std::max(res.worst_upper, Rational(worst_upper));
  if (report_rank != worst_rank && worst_rank != kNoRank) {
    const RowDetail top = eval->detail(subset_of_rank(worst_rank, N, q));
    if (top.present) {
      res.worst_lower = std::max(res.worst_lower, top.lower);
      res.worst_upper = std::max(res.worst_upper, top.upper);
    }
  }
  // Below the double range the filter's row bounds are only [0, 2^-1074]-sized: when every row is
  // that small, each row's enclosure is recomputed in MPFI (bounded number of rows), so the
  // printed enclosure is the multiprecision one, e.g. 5e-435, not [0, 4.9e-324].
  if (std::isfinite(worst_upper) && worst_upper < kTinyRowUpper && res.cases <= kTinyResweepRows &&
      res.missing_rows == 0) {
    struct Envelope {
      bool any = false;
      Rational lower, upper;
    };
    const Envelope env = parallel_reduce(
        res.cases, opts.threads, Envelope{},
        [&](std::uint64_t begin, std::uint64_t end, Envelope& e) {
          auto ev = make_evaluator(setup);
          for (std::uint64_t rank = begin; rank < end; ++rank) {
            const RowDetail r = ev->detail(subset_of_rank(rank, N, q));
            if (!r.present) continue;
            if (!e.any || r.lower > e.lower) e.lower = r.lower;
            if (!e.any || r.upper > e.upper) e.upper = r.upper;
            e.any = true;
          }
        },
        [](Envelope& acc, Envelope&& p) {
          if (!p.any) return;
          if (!acc.any || p.lower > acc.lower) acc.lower = p.lower;
          if (!acc.any || p.upper > acc.upper) acc.upper = p.upper;
          acc.any = true;
        });
    if (env.any) {
      res.worst_lower = std::max(res.worst_lower, env.lower);
      res.worst_upper = std::min(res.worst_upper, std::max(env.upper, res.worst_lower));
      res.bound_derivation += "; below the double range every row re-enclosed with MPFI";
    }
  }
  res.witness_signs = det.signs;
  if (res.verdict == Verdict::Fails && opts.verify_witness) {
    // Re-verify with a direct forward pass of the unit on the concrete witness input.
    // The precision rises until the enclosure of the error clears ε or is certainly at most ε
    // (then the witness is not one), along kWitnessLadder; the bits used are reported.
    QsaInput x = qsa_witness_input(N, d, res.witness_S, res.witness_signs);
    Mat<Rational> truth = qsa(x.z, x.y);
    raise_precision(
        [&](mpfr_prec_t bits) {
          Mat<Interval> out = qsa_forward(emb, x, opts.semantics, bits);
          Interval sq(0L, bits);
          for (int c = 0; c < d; ++c) {
            Interval diff = out(0, c) - Interval(truth(0, c), bits);
            sq += sqr(diff);  // x * x of an interval around 0 has a negative end, and its sqrt is NaN
          }
          IntervalBounds err = safe_bounds(sqrt(sq));
          res.forward_error_lower = err.lower;
          res.forward_bits = bits;
          res.witness_verified = err.lower > opts.eps;
          return res.witness_verified || err.upper <= opts.eps;
        },
        kWitnessLadder);
    if (!res.witness_verified) res.verdict = Verdict::Undecided;  // never report fails unverified
  }
  return res;
}

int fixed_integer_bits_for(const std::vector<Rational>& entries) {
  // Largest positive entry and largest magnitude of a negative one (±1 always included).
  Rational top = 1, bottom = 1;
  for (const auto& v : entries) {
    if (v > top) top = v;
    if (-v > bottom) bottom = -v;
  }
  // fixed:I.F holds [-2^(I-1), 2^(I-1) - 2^-F].  v rounds into range at every F >= 0 iff
  // -2^(I-1) <= v < 2^(I-1) - 1/2: F = 0 is the coarsest grid, where 2^(I-1) - 1/2 is a tie
  // that goes to the even 2^(I-1) (out of range), and as F grows the lower end must hold exactly.
  int I = 1;
  Rational half_range = 1;  // 2^(I-1)
  while (!(top < half_range - Rational(1, 2) && bottom <= half_range)) {
    ++I;
    half_range *= 2;
  }
  return I;
}

int qsa_fixed_integer_bits(const QsaEmbedding& emb) {
  std::vector<Rational> entries(emb.keys().data().begin(), emb.keys().data().end());
  auto qw = make_query_worker(emb);
  const int N = emb.N(), q = emb.q();
  std::vector<int> S(q);
  for (int k = 0; k < q; ++k) S[k] = k;
  do {
    auto w = qw->query(S);
    if (w) entries.insert(entries.end(), w->begin(), w->end());
  } while (next_subset(S.data(), q, N));
  return fixed_integer_bits_for(entries);
}

MinPrecisionResult qsa_min_precision(const QsaEmbedding& emb, const Rational& eps, const MinPrecisionConfig& config,
                                     unsigned threads) {
  return min_precision(config, [&](const Semantics& sem) {
    QsaCheckOptions co;
    co.eps = eps;
    co.semantics = sem;
    co.threads = threads;
    const QsaCheckResult r = check_qsa(emb, co);
    PrecisionTrial t;
    t.verdict = r.verdict;
    // check_qsa reports fails only with a verified witness (forward pass or exact missing-row proof).
    t.witness_verified = r.verdict == Verdict::Fails;
    if (!r.witness_signs.empty()) t.worst_upper = r.worst_upper;
    if (r.verdict == Verdict::Fails) t.witness = r.witness_S;
    return t;
  });
}

}  // namespace attnbounds

namespace attnbounds {

Rational qsa_default_temperature(int N, int q, const Rational& eps, const Rational& gap) {
  if (N <= q) return 0;
  Rational arg = Rational(N - q) * (2 - eps) / (Rational(q) * eps);
  if (arg <= 1) return 0;
  Interval c = log(Interval(arg, 128)) / Interval(gap, 128);
  mpz_class scale = mpz_class(1) << 20;
  Rational scaled = c.upper() * Rational(scale);
  mpz_class num = scaled.get_num(), den = scaled.get_den(), ceil_q;
  mpz_cdiv_q(ceil_q.get_mpz_t(), num.get_mpz_t(), den.get_mpz_t());
  Rational rounded(ceil_q, scale);
  rounded.canonicalize();
  return rounded;
}

Interval qsa_equal_row_error(const std::vector<Rational>& r_off, int q, mpfr_prec_t bits) {
  Interval E(0L, bits);
  for (const auto& r : r_off) E += exp(Interval(r, bits));
  return Interval(2L, bits) * E / (Interval(static_cast<long>(q), bits) + E);
}

}  // namespace attnbounds
