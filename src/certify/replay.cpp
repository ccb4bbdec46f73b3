#include "certify/replay.hpp"

#include <fstream>
#include <limits>
#include <optional>
#include <stdexcept>
#include <unordered_map>

#include "core/input_file.hpp"
#include "enumerate/combinatorics.hpp"
#include "enumerate/parallel.hpp"
#include "enumerate/run_control.hpp"
#include "core/filtered_sweep.hpp"
#include "numeric/dinterval.hpp"
#include "numeric/format.hpp"
#include "numeric/interval.hpp"

// 128-bit integers (a GCC/Clang extension; __extension__ keeps -Wpedantic quiet).
__extension__ typedef __int128 ReplayInt128;

namespace attnbounds {

namespace {

// e^x at the ladder's first precision for exact x, memoised per thread: rows share most of their
// score differences (qsa-cyclic: a row and its translates have the same ones), and mpfi_exp is a
// deterministic function of x and the precision, so a stored enclosure is the one it would
// recompute.  Bounded, so that memory stays small; when full, new values are computed only.
class ExpMemo {
 public:
  static constexpr mpfr_prec_t kBits = 128;
  static constexpr std::size_t kMaxEntries = std::size_t{1} << 17;
  const Interval& exp_of(const Rational& x) {
    if (mpfr_get_emin() != emin_ || mpfr_get_emax() != emax_) {  // MPFR's exponent range is part of the result
      memo_.clear();
      emin_ = mpfr_get_emin();
      emax_ = mpfr_get_emax();
    }
    auto it = memo_.find(x);
    if (it != memo_.end()) return it->second;
    Interval e(x, kBits);
    mpfi_exp(e.get(), e.get());
    if (memo_.size() >= kMaxEntries) return scratch_ = std::move(e);
    return memo_.emplace(x, std::move(e)).first->second;
  }

 private:
  struct Hash {
    static std::size_t of(mpz_srcptr z) {
      std::size_t h = static_cast<std::size_t>(mpz_size(z)) * 0x9e3779b97f4a7c15ULL + (mpz_sgn(z) < 0 ? 1 : 0);
      for (std::size_t i = 0; i < mpz_size(z); ++i) h = (h ^ mpz_getlimbn(z, static_cast<mp_size_t>(i))) * 0x100000001b3ULL;
      return h;
    }
    std::size_t operator()(const Rational& r) const {
      return of(mpq_numref(r.get_mpq_t())) * 31 + of(mpq_denref(r.get_mpq_t()));
    }
  };
  struct Equal {
    bool operator()(const Rational& a, const Rational& b) const { return mpq_equal(a.get_mpq_t(), b.get_mpq_t()) != 0; }
  };
  std::unordered_map<Rational, Interval, Hash, Equal> memo_;
  Interval scratch_{0L, kBits};
  mpfr_exp_t emin_ = mpfr_get_emin(), emax_ = mpfr_get_emax();
};

// Enclosure of Σ_j |a_j − t_j| with a = softmax(scores), t = 1_S/q, at `bits`; `diffs` are the
// exact s_j − max_k s_k.
struct Enclosure {
  Rational lower, upper;
};
Enclosure row_enclosure(const std::vector<Rational>& diffs, const std::vector<char>& member, int q,
                        mpfr_prec_t bits, ExpMemo& memo) {
  std::vector<Interval> w;
  w.reserve(diffs.size());
  Interval total(0L, bits);
  for (const auto& s : diffs) {
    if (bits == ExpMemo::kBits) {
      w.push_back(memo.exp_of(s));
    } else {
      Interval e(s, bits);
      mpfi_exp(e.get(), e.get());
      w.push_back(std::move(e));
    }
    total += w.back();
  }
  Interval err(0L, bits), target(Rational(1, q), bits);
  for (std::size_t j = 0; j < diffs.size(); ++j) {
    Interval a = w[j] / total;
    if (member[j]) a -= target;
    mpfi_abs(a.get(), a.get());
    err += a;
  }
  Interval::Bounds b = err.widened_bounds();  // cheap even after an exp underflow
  return {b.lower, b.upper};
}

// The same sum in certified double intervals (the filter): an enclosure of the exact value, or
// nothing when a value is not finite.  `num` are the integers S_j − max_k S_k and `den` their
// positive common denominator, so the score differences are num_j / den exactly (given here as
// enclosures; same(j, k) says num_j = num_k).  Written so
// that the error is relative, not absolute (the errors of good rows are far below 2^-53):
// with w_j = e^{s_j − max}, W = Σ_j w_j and off = Σ_{j∉S} w_j,
//   Σ_j |a_j − t_j| = off / W + Σ_{j∈S} |Σ_{k∈S} (w_j − w_k) − off| / (q·W),
// since a_j − 1/q = (q·w_j − W) / (q·W) and q·w_j − W = Σ_{k∈S} (w_j − w_k) − off; a term with
// num_k = num_j is exactly zero and is left out.
template <class SameScore>
std::optional<DInterval> row_filter(const std::vector<DInterval>& num, DInterval den, SameScore&& same,
                                    const std::vector<int>& S, const std::vector<char>& member, int q) {
  DInterval total(0.0), off(0.0);
  thread_local std::vector<DInterval> w;
  w.resize(num.size());
  for (std::size_t j = 0; j < num.size(); ++j) {
    w[j] = exp(num[j] / den);
    total += w[j];
    if (!member[j]) off += w[j];
  }
  DInterval on(0.0);
  for (int j : S) {
    DInterval dev = -off;
    for (int k : S)
      if (!same(j, k)) dev += w[j] - w[k];
    on += abs(dev);
  }
  const DInterval err = off / total + on / (DInterval(q) * total);
  if (!err.is_finite()) return std::nullopt;
  return err;
}

// max ‖round(z) − z‖ for unit z under embed:<fmt> (same rounding model as math §2).
Rational value_rounding(const Semantics& sem, int d) {
  if (sem.kind == Semantics::Kind::Exact) return 0;
  mpz_class pow2 = 1;
  if (sem.format.kind == Format::Kind::Float) {
    pow2 <<= sem.format.P;
    return Rational(1) / Rational(pow2);
  }
  if (sem.format.kind == Format::Kind::Bounded) {  // u|x| + a per coordinate, |x| <= 1
    const RoundingErrorBound e = rounding_error_bound(sem.format);
    return e.relative + Rational(d) * e.absolute;
  }
  pow2 <<= (sem.format.F + 1);
  return Rational(d) / Rational(pow2);
}

struct Tally {
  std::uint64_t first_bad = std::numeric_limits<std::uint64_t>::max();
  bool any_fail = false;
  bool any_undecided = false;
  std::uint64_t worst = std::numeric_limits<std::uint64_t>::max();
  Rational worst_upper = -1, worst_lower = -1;
  double largest_lower = -1;
};

// Evaluates rows as the reader delivers them, a batch at a time across the threads; batches are
// combined in file order, so the result does not depend on the thread count or the batch size.
class StreamingReplay : public QsaCertificateConsumer {
 public:
  StreamingReplay(unsigned threads, bool double_filter) : threads_(threads), double_filter_(double_filter) {}

  void begin(const QsaCertificateHeader& h) override {
    h_ = h;
    sem_ = parse_semantics(h.semantics);
    slack_ = value_rounding(sem_, h.d);
    hold_below_ = DInterval::from_rational(h.bound - slack_).lower();
    fail_above_ = DInterval::from_rational(h.bound).upper();
    batch_.reserve(kBatchRows);
    // One progress line for the whole file (a certificate has one row per q-subset); the
    // batches run without the command's run control (one estimate per batch would mislead).
    if (RunControl* control = active_run_control(); control && !control->label.empty())
      progress_.emplace(control->label, binomial_saturating(h.N, h.q));
    // Scores in integers over one denominator: with D_k the lcm of every key denominator and D_q
    // that of the row's query, s_j = S_j / (D_q·D_k) for the integers S_j = Σ_c (D_q·query_c)·(D_k·key_jc),
    // so s_j − max_k s_k = (S_j − max_k S_k) / (D_q·D_k) exactly (the denominator is positive).
    key_den_ = 1;
    for (const auto& key : h.keys)
      for (const auto& v : key) mpz_lcm(key_den_.get_mpz_t(), key_den_.get_mpz_t(), v.get_den_mpz_t());
    const std::size_t width = h.keys[0].size();
    key_int_.assign(h.N, std::vector<mpz_class>(width));
    for (int j = 0; j < h.N; ++j)
      for (std::size_t c = 0; c < width; ++c) key_int_[j][c] = h.keys[j][c].get_num() * (key_den_ / h.keys[j][c].get_den());
    keys_small_ = width <= 16;
    key_small_.assign(static_cast<std::size_t>(h.N) * width, 0);
    for (int j = 0; j < h.N; ++j)
      for (std::size_t c = 0; c < width; ++c) {
        if (mpz_sizeinbase(key_int_[j][c].get_mpz_t(), 2) > kSmallBits) keys_small_ = false;
        else key_small_[static_cast<std::size_t>(j) * width + c] = mpz_get_si(key_int_[j][c].get_mpz_t());
      }
  }
  void row(QsaCertificateRow&& r) override {
    batch_.push_back(std::move(r));
    if (batch_.size() == kBatchRows) flush();
  }

  ReplayReport report() {
    flush();
    ReplayReport rep;
    rep.claim = h_.claim;
    rep.N = h_.N;
    rep.q = h_.q;
    rep.bound = h_.bound;
    rep.semantics = h_.semantics;
    rep.rows = rows_;
    rep.verdict = total_.any_fail ? Verdict::Fails : total_.any_undecided ? Verdict::Undecided : Verdict::Holds;
    if (total_.worst < rows_) {
      rep.worst_upper = total_.worst_upper;
      rep.worst_lower = total_.worst_lower;
      rep.worst_S = worst_S_;
    }
    rep.first_bad_S = first_bad_S_;
    return rep;
  }

 private:
  static constexpr std::size_t kBatchRows = 1 << 14;
  std::optional<Progress> progress_;

  // A batch in two passes.  Pass 1 decides every row: the double filter first, the MPFI ladder
  // only where the filter cannot (CGAL-style: approximate first, exact only where needed).
  // Pass 2 finds the worst row: a row whose filter upper bound is below the largest lower bound
  // seen (this batch or earlier) cannot be the maximum, so only the others (the candidates) get
  // their 128-bit MPFI enclosure, and the worst is the candidate with the largest MPFI upper bound
  // (ties: the first).  The reported [lower, upper] then encloses the maximum over all rows: the
  // maximum is at most the largest candidate upper bound, and at least the worst row's lower one.
  void flush() {
    if (batch_.empty()) return;
    const int N = h_.N, q = h_.q;
    const std::size_t width = h_.keys[0].size();
    const std::uint64_t offset = rows_;
    const auto& rows = batch_;
    const std::size_t n = rows.size();
    const RunControlPause plain_batches;
    row_lo_.assign(n, 0.0);
    row_hi_.assign(n, 0.0);
    row_exact_.assign(n, std::nullopt);
    // The integer score differences of row i and their denominator (see begin()).
    // The integer score differences of row i and their denominator (see begin()): in 128-bit
    // integers when the query's integers fit 61 bits (then every sum fits), else in GMP.
    struct RowScratch {
      std::vector<mpz_class> S_int, query_int, num;
      std::vector<ReplayInt128> S_small, num_small;
      std::vector<long long> query_small;
      std::vector<DInterval> num_enc;
      bool small = false, have_mpz = false;
      mpz_class query_den, den;
      DInterval den_enc;
      std::vector<char> member;
      std::vector<Rational> diffs;
    };
    auto prepare_mpz = [&](RowScratch& w) {
      int top = 0;
      for (int j = 0; j < N; ++j) {
        mpz_set_ui(w.S_int[j].get_mpz_t(), 0);
        for (std::size_t c = 0; c < width; ++c)
          mpz_addmul(w.S_int[j].get_mpz_t(), w.query_int[c].get_mpz_t(), key_int_[j][c].get_mpz_t());
        if (w.S_int[j] > w.S_int[top]) top = j;
      }
      for (int j = 0; j < N; ++j) mpz_sub(w.num[j].get_mpz_t(), w.S_int[j].get_mpz_t(), w.S_int[top].get_mpz_t());
      w.have_mpz = true;
    };
    auto prepare = [&](const QsaCertificateRow& r, RowScratch& w) {
      w.S_int.resize(N);
      w.num.resize(N);
      w.S_small.resize(N);
      w.num_small.resize(N);
      w.num_enc.resize(N);
      w.query_int.resize(width);
      w.query_small.resize(width);
      w.member.assign(N, 0);
      w.have_mpz = false;
      for (int k : r.S) w.member[k] = 1;
      w.query_den = 1;
      for (const auto& v : r.query) mpz_lcm(w.query_den.get_mpz_t(), w.query_den.get_mpz_t(), v.get_den_mpz_t());
      w.small = keys_small_;
      for (std::size_t c = 0; c < width; ++c) {
        mpz_divexact(w.query_int[c].get_mpz_t(), w.query_den.get_mpz_t(), r.query[c].get_den_mpz_t());
        w.query_int[c] *= r.query[c].get_num();
        if (mpz_sizeinbase(w.query_int[c].get_mpz_t(), 2) > kSmallBits) w.small = false;
        else w.query_small[c] = mpz_get_si(w.query_int[c].get_mpz_t());
      }
      w.den = w.query_den * key_den_;
      w.den_enc = DInterval::from_mpz(w.den.get_mpz_t());
      if (w.small) {
        // |query|, |key| < 2^61 and width <= 16: every product < 2^122 and sum < 2^126.
        int top = 0;
        for (int j = 0; j < N; ++j) {
          ReplayInt128 sum = 0;
          for (std::size_t c = 0; c < width; ++c)
            sum += static_cast<ReplayInt128>(w.query_small[c]) * key_small_[static_cast<std::size_t>(j) * width + c];
          w.S_small[j] = sum;
          if (sum > w.S_small[top]) top = j;
        }
        for (int j = 0; j < N; ++j) {
          w.num_small[j] = w.S_small[j] - w.S_small[top];
          w.num_enc[j] = DInterval::from_int128(w.num_small[j]);
        }
      } else {
        prepare_mpz(w);
        for (int j = 0; j < N; ++j) w.num_enc[j] = DInterval::from_mpz(w.num[j].get_mpz_t());
      }
    };
    auto exact_diffs = [&](RowScratch& w) {
      if (!w.have_mpz) prepare_mpz(w);
      w.diffs.resize(N);
      for (int j = 0; j < N; ++j) {
        mpq_ptr x = w.diffs[j].get_mpq_t();
        mpz_set(mpq_numref(x), w.num[j].get_mpz_t());
        mpz_set(mpq_denref(x), w.den.get_mpz_t());
        mpq_canonicalize(x);
      }
    };
    auto same_score = [](const RowScratch& w) {
      return [&w](int j, int k) { return w.small ? w.num_small[j] == w.num_small[k] : w.num[j] == w.num[k]; };
    };
    Tally t = parallel_reduce(
        n, threads_, Tally{},
        [&](std::uint64_t b, std::uint64_t e, Tally& acc) {
          thread_local ExpMemo memo;  // entries are pure functions of x: valid across rows, chunks and files
          thread_local RowScratch w;
          for (std::uint64_t i = b; i < e; ++i) {
            prepare(rows[i], w);
            int state = 0;  // 1 within bound, -1 above, 0 undecided
            std::optional<DInterval> f;
            if (double_filter_) f = row_filter(w.num_enc, w.den_enc, same_score(w), rows[i].S, w.member, q);
            if (f) {
              if (f->upper() <= hold_below_) state = 1;        // ≤ bound − slack
              else if (f->lower() > fail_above_) state = -1;   // > bound
              row_lo_[i] = f->lower();
              row_hi_[i] = f->upper();
            } else {
              row_lo_[i] = -1.0;  // no information: never excludes another row
              row_hi_[i] = std::numeric_limits<double>::infinity();
            }
            if (state == 0) {
              exact_diffs(w);
              Enclosure enc{0, 0};
              raise_precision([&](mpfr_prec_t bits) {
                enc = row_enclosure(w.diffs, w.member, q, bits, memo);
                if (enc.upper + slack_ <= h_.bound) state = 1;
                else if (enc.lower > h_.bound) state = -1;
                return state != 0;
              });
              row_lo_[i] = DInterval::from_rational(enc.lower).lower();
              row_hi_[i] = DInterval::from_rational(enc.upper).upper();
              row_exact_[i] = enc;
            }
            if (state != 1 && i < acc.first_bad) acc.first_bad = i;
            acc.any_fail = acc.any_fail || state == -1;
            acc.any_undecided = acc.any_undecided || state == 0;
            acc.largest_lower = std::max(acc.largest_lower, row_lo_[i]);
          }
        },
        [](Tally& acc, Tally&& p) {
          if (p.first_bad < acc.first_bad) acc.first_bad = p.first_bad;
          acc.any_fail = acc.any_fail || p.any_fail;
          acc.any_undecided = acc.any_undecided || p.any_undecided;
          acc.largest_lower = std::max(acc.largest_lower, p.largest_lower);
        },
        progress_ ? &*progress_ : nullptr);
    largest_lower_ = std::max(largest_lower_, t.largest_lower);
    // Pass 2: the candidates' 128-bit enclosures, the worst of them.
    Tally worst = parallel_reduce(
        n, threads_, Tally{},
        [&](std::uint64_t b, std::uint64_t e, Tally& acc) {
          thread_local ExpMemo memo;
          thread_local RowScratch w;
          for (std::uint64_t i = b; i < e; ++i) {
            if (row_hi_[i] < largest_lower_) continue;
            Enclosure enc{0, 0};
            if (row_exact_[i]) {
              enc = *row_exact_[i];
            } else {
              prepare(rows[i], w);
              exact_diffs(w);
              enc = row_enclosure(w.diffs, w.member, q, kLadderStartBits, memo);
            }
            if (enc.upper + slack_ > acc.worst_upper) {
              acc.worst_upper = enc.upper + slack_;
              acc.worst_lower = enc.lower;
              acc.worst = i;
            }
          }
        },
        [](Tally& acc, Tally&& p) {
          if (p.worst_upper > acc.worst_upper) {
            acc.worst_upper = p.worst_upper;
            acc.worst_lower = p.worst_lower;
            acc.worst = p.worst;
          }
        });
    // Combine with the earlier batches: the first row not within the bound, the first worst row.
    if (t.first_bad < rows.size() && first_bad_S_.empty())
      for (int k : rows[t.first_bad].S) first_bad_S_.push_back(k + 1);
    total_.any_fail = total_.any_fail || t.any_fail;
    total_.any_undecided = total_.any_undecided || t.any_undecided;
    if (worst.worst < rows.size() && worst.worst_upper > total_.worst_upper) {
      total_.worst_upper = worst.worst_upper;
      total_.worst_lower = worst.worst_lower;
      total_.worst = offset + worst.worst;
      worst_S_.clear();
      for (int k : rows[worst.worst].S) worst_S_.push_back(k + 1);
    }
    rows_ += rows.size();
    batch_.clear();
  }

  unsigned threads_;
  bool double_filter_;
  QsaCertificateHeader h_;
  Semantics sem_;
  Rational slack_;
  std::vector<QsaCertificateRow> batch_;
  std::uint64_t rows_ = 0;
  Tally total_;
  std::vector<int> worst_S_, first_bad_S_;
  double hold_below_ = 0, fail_above_ = 0;  // doubles ≤ bound − slack and ≥ bound
  double largest_lower_ = -1;       // the largest row lower bound so far (filter or MPFI)
  std::vector<double> row_lo_, row_hi_;
  std::vector<std::optional<Enclosure>> row_exact_;
  static constexpr std::size_t kSmallBits = 61;
  bool keys_small_ = false;               // every key integer below 2^61 (and width <= 16)
  std::vector<long long> key_small_;     // the key integers then, row-major
  mpz_class key_den_ = 1;                       // lcm of the key denominators
  std::vector<std::vector<mpz_class>> key_int_;  // key_den_ · keys, integers
};

}  // namespace

ReplayReport replay_qsa_certificate(const std::string& path, unsigned threads, bool double_filter) {
  try {
    require_regular_input(path, kMaxCertificateBytes);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("replay: ") + e.what());
  }
  std::ifstream is(path, std::ios::binary);
  if (!is) throw std::invalid_argument("replay: cannot read '" + path + "'");
  // Rows are evaluated while the file is read, but a verdict exists only once the reader has
  // accepted the whole file: any defect, however late, is an error and no report.
  StreamingReplay replay(threads, double_filter);
  const CertificateEncoding enc = read_qsa_certificate(is, replay);
  ReplayReport rep = replay.report();
  rep.encoding = certificate_encoding_name(enc);
  return rep;
}

}  // namespace attnbounds
