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
#include "numeric/format.hpp"
#include "numeric/interval.hpp"

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
};

// Evaluates rows as the reader delivers them, a batch at a time across the threads; batches are
// combined in file order, so the result does not depend on the thread count or the batch size.
class StreamingReplay : public QsaCertificateConsumer {
 public:
  explicit StreamingReplay(unsigned threads) : threads_(threads) {}

  void begin(const QsaCertificateHeader& h) override {
    h_ = h;
    sem_ = parse_semantics(h.semantics);
    slack_ = value_rounding(sem_, h.d);
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

  void flush() {
    if (batch_.empty()) return;
    const int N = h_.N, q = h_.q;
    const std::size_t width = h_.keys[0].size();
    const Rational& bound = h_.bound;
    const Rational& slack = slack_;
    const std::uint64_t offset = rows_;
    const auto& rows = batch_;
    const RunControlPause plain_batches;
    Tally t = parallel_reduce(
        rows.size(), threads_, Tally{},
        [&](std::uint64_t b, std::uint64_t e, Tally& acc) {
          std::vector<Rational> diffs(N);
          thread_local ExpMemo memo;  // entries are pure functions of x: valid across rows, chunks and files
          std::vector<mpz_class> S_int(N), query_int(width);
          mpz_class query_den, den;
          std::vector<char> member(N);
          for (std::uint64_t i = b; i < e; ++i) {
            const QsaCertificateRow& r = rows[i];
            std::fill(member.begin(), member.end(), 0);
            for (int k : r.S) member[k] = 1;
            query_den = 1;
            for (const auto& v : r.query) mpz_lcm(query_den.get_mpz_t(), query_den.get_mpz_t(), v.get_den_mpz_t());
            for (std::size_t c = 0; c < width; ++c) {
              mpz_divexact(query_int[c].get_mpz_t(), query_den.get_mpz_t(), r.query[c].get_den_mpz_t());
              query_int[c] *= r.query[c].get_num();
            }
            int top = 0;
            for (int j = 0; j < N; ++j) {
              mpz_set_ui(S_int[j].get_mpz_t(), 0);
              for (std::size_t c = 0; c < width; ++c)
                mpz_addmul(S_int[j].get_mpz_t(), query_int[c].get_mpz_t(), key_int_[j][c].get_mpz_t());
              if (S_int[j] > S_int[top]) top = j;
            }
            den = query_den * key_den_;
            for (int j = 0; j < N; ++j) {
              mpq_ptr x = diffs[j].get_mpq_t();
              mpz_sub(mpq_numref(x), S_int[j].get_mpz_t(), S_int[top].get_mpz_t());
              mpz_set(mpq_denref(x), den.get_mpz_t());
              mpq_canonicalize(x);
            }
            Enclosure enc{0, 0};
            int state = 0;  // 1 within bound, -1 above, 0 undecided
            for (mpfr_prec_t bits = 128; bits <= 4096 && state == 0; bits *= 2) {
              enc = row_enclosure(diffs, member, q, bits, memo);
              if (enc.upper + slack <= bound) state = 1;
              else if (enc.lower > bound) state = -1;
            }
            if (state != 1 && i < acc.first_bad) acc.first_bad = i;
            acc.any_fail = acc.any_fail || state == -1;
            acc.any_undecided = acc.any_undecided || state == 0;
            if (enc.upper + slack > acc.worst_upper) {
              acc.worst_upper = enc.upper + slack;
              acc.worst_lower = enc.lower;
              acc.worst = i;
            }
          }
        },
        [](Tally& acc, Tally&& p) {
          if (p.first_bad < acc.first_bad) acc.first_bad = p.first_bad;
          acc.any_fail = acc.any_fail || p.any_fail;
          acc.any_undecided = acc.any_undecided || p.any_undecided;
          if (p.worst_upper > acc.worst_upper) {
            acc.worst_upper = p.worst_upper;
            acc.worst_lower = p.worst_lower;
            acc.worst = p.worst;
          }
        },
        progress_ ? &*progress_ : nullptr);
    // Combine with the earlier batches: the first row not within the bound, the first worst row.
    if (t.first_bad < rows.size() && first_bad_S_.empty())
      for (int k : rows[t.first_bad].S) first_bad_S_.push_back(k + 1);
    total_.any_fail = total_.any_fail || t.any_fail;
    total_.any_undecided = total_.any_undecided || t.any_undecided;
    if (t.worst < rows.size() && t.worst_upper > total_.worst_upper) {
      total_.worst_upper = t.worst_upper;
      total_.worst_lower = t.worst_lower;
      total_.worst = offset + t.worst;
      worst_S_.clear();
      for (int k : rows[t.worst].S) worst_S_.push_back(k + 1);
    }
    rows_ += rows.size();
    batch_.clear();
  }

  unsigned threads_;
  QsaCertificateHeader h_;
  Semantics sem_;
  Rational slack_;
  std::vector<QsaCertificateRow> batch_;
  std::uint64_t rows_ = 0;
  Tally total_;
  std::vector<int> worst_S_, first_bad_S_;
  mpz_class key_den_ = 1;                       // lcm of the key denominators
  std::vector<std::vector<mpz_class>> key_int_;  // key_den_ · keys, integers
};

}  // namespace

ReplayReport replay_qsa_certificate(const std::string& path, unsigned threads) {
  try {
    require_regular_input(path, kMaxCertificateBytes);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("replay: ") + e.what());
  }
  std::ifstream is(path, std::ios::binary);
  if (!is) throw std::invalid_argument("replay: cannot read '" + path + "'");
  // Rows are evaluated while the file is read, but a verdict exists only once the reader has
  // accepted the whole file: any defect, however late, is an error and no report.
  StreamingReplay replay(threads);
  const CertificateEncoding enc = read_qsa_certificate(is, replay);
  ReplayReport rep = replay.report();
  rep.encoding = certificate_encoding_name(enc);
  return rep;
}

}  // namespace attnbounds
