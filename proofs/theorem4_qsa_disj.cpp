#include "proofs/theorem4_qsa_disj.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <map>
#include <optional>
#include <random>
#include <tuple>
#include <stdexcept>

#include "core/config_error.hpp"
#include "core/field_checks.hpp"
#include "core/filtered_sweep.hpp"
#include "enumerate/parallel.hpp"
#include "enumerate/partial_text.hpp"
#include "model/attention.hpp"
#include "numeric/dinterval.hpp"
#include "numeric/exp_cache.hpp"
#include "numeric/interval.hpp"
#include "numeric/mpfr_real.hpp"
#include "tasks/tasks.hpp"

namespace attnbounds::qsa_disj {

namespace {

// ---- models -------------------------------------------------------------------------------

Rational small_random(std::mt19937_64& rng, int half_range, long denominator) {
  const long v = static_cast<long>(rng() % static_cast<std::uint64_t>(2 * half_range + 1)) - half_range;
  Rational r(v, denominator);
  r.canonicalize();  // mpq_class(num, den) does not reduce
  return r;
}

class RandomModel : public TokenwiseModel {
 public:
  RandomModel(int N, int q, int d, int m, std::uint64_t seed, const Rational& scale) : N_(N), d_(d), m_(m) {
    std::mt19937_64 rng(seed);
    const int features = d + 2 * N + 1;
    // |φ_c| ≤ Σ|G_cf|·|feat_f| ≤ (scale/(d+q+2))·(d + q + 2) = scale, since ‖feat‖₁ ≤ d + q + 2.
    G_ = Mat<Rational>(m, features);
    for (int c = 0; c < m; ++c)
      for (int f = 0; f < features; ++f) G_(c, f) = small_random(rng, 8, 8L * (d + q + 2)) * scale;
    Q_ = Mat<Rational>(m, m);
    K_ = Mat<Rational>(m, m);
    V_ = Mat<Rational>(m, d);
    for (int r = 0; r < m; ++r)
      for (int c = 0; c < m; ++c) {
        Q_(r, c) = small_random(rng, 8, 2);
        K_(r, c) = small_random(rng, 8, 2);
      }
    for (int r = 0; r < m; ++r)
      for (int c = 0; c < d; ++c) V_(r, c) = small_random(rng, 8, 4);
  }
  std::string name() const override { return "random"; }
  // (scale is folded into G)
  int m() const override { return m_; }
  std::vector<Rational> embed(const QsaInput& X, int i) const override {
    std::vector<Rational> feat(G_.cols(), Rational(0));
    for (int c = 0; c < d_; ++c) feat[c] = X.z(i, c);
    for (int j : X.y[i]) feat[d_ + j] = 1;
    feat[d_ + N_ + i] = 1;
    feat.back() = 1;
    std::vector<Rational> phi(m_, Rational(0));
    for (int r = 0; r < m_; ++r)
      for (std::size_t f = 0; f < feat.size(); ++f)
        if (feat[f] != 0) phi[r] += G_(r, f) * feat[f];
    return phi;
  }
  void qkv(const std::vector<Rational>& phi, std::vector<Rational>& query, std::vector<Rational>& key,
           std::vector<Rational>& value) const override {
    query.assign(m_, Rational(0));
    key.assign(m_, Rational(0));
    value.assign(d_, Rational(0));
    for (int r = 0; r < m_; ++r) {
      for (int c = 0; c < m_; ++c) {
        query[c] += phi[r] * Q_(r, c);  // q = Qᵀφ
        key[c] += phi[r] * K_(r, c);
      }
      for (int c = 0; c < d_; ++c) value[c] += phi[r] * V_(r, c);
    }
  }

 private:
  int N_, d_, m_;
  Mat<Rational> G_, Q_, K_, V_;
};

class QsaEmbeddingModel : public TokenwiseModel {
 public:
  explicit QsaEmbeddingModel(std::shared_ptr<const QsaEmbedding> emb) : emb_(std::move(emb)) {}
  std::string name() const override { return emb_->name(); }
  int m() const override { return emb_->m(); }
  std::vector<Rational> embed(const QsaInput& X, int i) const override {
    const int d = emb_->d(), k = static_cast<int>(emb_->keys().cols());
    std::vector<Rational> phi;
    phi.reserve(d + 2 * k);
    for (int c = 0; c < d; ++c) phi.push_back(X.z(i, c));
    auto query = emb_->query(X.y[i]);
    phi.insert(phi.end(), query.begin(), query.end());
    for (int c = 0; c < k; ++c) phi.push_back(emb_->keys()(i, c));
    return phi;
  }
  void qkv(const std::vector<Rational>& phi, std::vector<Rational>& query, std::vector<Rational>& key,
           std::vector<Rational>& value) const override {
    const int d = emb_->d(), k = static_cast<int>(emb_->keys().cols());
    value.assign(phi.begin(), phi.begin() + d);
    query.assign(phi.begin() + d, phi.begin() + d + k);
    key.assign(phi.begin() + d + k, phi.begin() + d + 2 * k);
  }

 private:
  std::shared_ptr<const QsaEmbedding> emb_;
};

// ---- evaluation ---------------------------------------------------------------------------

std::vector<Rational> rounded_embedding(const TokenwiseModel& model, const QsaInput& X, int i, const SemanticsPolicy& sem) {
  auto phi = model.embed(X, i);
  if (sem.embed()) {
    for (auto& v : phi) {
      try {
        v = sem.stored(v);
      } catch (const FormatRangeError& e) {
        throw ConfigError("semantics", fmt::format("the embedding entry {} of token {} is outside the range of {} "
                                                   "(fixed formats never clamp); choose a wider format",
                                                   to_decimal_string(v, 6), i + 1, sem.format().name()));
      }
    }
  }
  return phi;
}

// Exact query/key/value matrices of the model on X; `alice_phi` (if given) replaces the
// embedding of Alice's token: that is all Bob learns from Alice.
QKV<Rational> exact_qkv(const TokenwiseModel& model, const QsaInput& X, const SemanticsPolicy& sem, int alice,
                        const std::vector<Rational>* alice_phi) {
  const int N = static_cast<int>(X.y.size());
  QKV<Rational> h;
  for (int i = 0; i < N; ++i) {
    const std::vector<Rational> phi = (alice_phi && i == alice) ? *alice_phi : rounded_embedding(model, X, i, sem);
    std::vector<Rational> q, k, v;
    model.qkv(phi, q, k, v);
    if (i == 0) {
      h.queries = Mat<Rational>(N, q.size());
      h.keys = Mat<Rational>(N, k.size());
      h.values = Mat<Rational>(N, v.size());
    }
    for (std::size_t c = 0; c < q.size(); ++c) h.queries(i, c) = q[c];
    for (std::size_t c = 0; c < k.size(); ++c) h.keys(i, c) = k[c];
    for (std::size_t c = 0; c < v.size(); ++c) h.values(i, c) = v[c];
  }
  return h;
}

QKV<Interval> to_intervals(const QKV<Rational>& h, mpfr_prec_t bits) {
  auto conv = [bits](const Rational& r) { return Interval(r, bits); };
  return {Mat<Interval>::from(h.queries, conv), Mat<Interval>::from(h.keys, conv), Mat<Interval>::from(h.values, conv)};
}

// The model's own forward pass (every token's output), row `row`.
std::vector<Interval> forward_row(const QKV<Rational>& h, int row, mpfr_prec_t bits) {
  WorkingPrecision wp(bits);
  Mat<Interval> out = attention_unit(to_intervals(h, bits));
  std::vector<Interval> r;
  for (std::size_t c = 0; c < out.cols(); ++c) r.push_back(out(row, c));
  return r;
}

// Bob's side of the protocol: only the attention row of Alice's token.
std::vector<Interval> protocol_row(const QKV<Rational>& h, int row, mpfr_prec_t bits) {
  WorkingPrecision wp(bits);
  QKV<Interval> hi = to_intervals(h, bits);
  const std::size_t N = h.keys.rows(), dv = h.values.cols();
  std::vector<Interval> scores(N), weights(N), out(dv, Interval(0L, bits));
  attention_weights(hi, static_cast<std::size_t>(row), Normaliser::Softmax, scores.data(), weights.data());
  for (std::size_t j = 0; j < N; ++j)
    for (std::size_t c = 0; c < dv; ++c) out[c] += weights[j] * hi.values(j, c);
  return out;
}

bool same_enclosures(const std::vector<Interval>& a, const std::vector<Interval>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t c = 0; c < a.size(); ++c)
    if (!a[c].same_endpoints(b[c])) return false;
  return true;
}

Interval squared_error(const std::vector<Interval>& out, const Mat<Rational>& truth, int row, mpfr_prec_t bits) {
  Interval e2(0L, bits);
  for (std::size_t c = 0; c < out.size(); ++c) {
    Interval diff = out[c] - Interval(truth(row, c), bits);
    e2 += sqr(diff);  // not diff * diff: that goes negative when diff straddles 0
  }
  return e2;
}

// The accuracy of one instance is a case state of the generic sweep: Holds (error certainly
// <= bound), Fails (certainly > bound) or Open (the enclosure straddles the bound).
using Accuracy = CaseState;

Accuracy classify(const Interval& err2, const Rational& bound2, mpfr_prec_t bits) {
  const Interval b2(bound2, bits);
  if (certainly_less_equal(err2, b2)) return CaseState::Holds;
  if (certainly_less(b2, err2)) return CaseState::Fails;
  return CaseState::Open;
}

// ---- result helpers -----------------------------------------------------------------------

std::vector<Enclosure> enclosures_of(const std::vector<Interval>& v) {
  std::vector<Enclosure> out;
  for (const auto& x : v) out.push_back({x.lower(), x.upper()});
  return out;
}

std::vector<Rational> truth_row(const Mat<Rational>& t, int row) {
  std::vector<Rational> out;
  for (std::size_t c = 0; c < t.cols(); ++c) out.push_back(t(row, c));
  return out;
}

Enclosure enclosure_of(const Interval& x) { return {x.lower(), x.upper()}; }

// Error enclosure ‖out − truth‖ from its square.
Interval error_of(const Interval& err2) { return sqrt(err2); }

struct InstanceEval {
  std::vector<Interval> out;
  Interval err2;
  Accuracy acc = CaseState::Open;
  mpfr_prec_t bits = kLadderStartBits;
};

// One rung of the exact evaluator: the model's row at `bits`, its squared error, its accuracy.
InstanceEval evaluate_at(const QKV<Rational>& h, const Mat<Rational>& truth, int row, const Rational& bound2,
                         mpfr_prec_t bits) {
  InstanceEval ev;
  ev.bits = bits;
  ev.out = forward_row(h, row, bits);
  ev.err2 = squared_error(ev.out, truth, row, bits);
  ev.acc = classify(ev.err2, bound2, bits);
  return ev;
}

// A witness's re-verification: the forward pass along the sweep's ladder until the accuracy
// verdict is decided (the last rung's enclosures are reported).
InstanceEval evaluate_forward(const QKV<Rational>& h, const Mat<Rational>& truth, int row, const Rational& bound2) {
  InstanceEval ev;
  raise_precision([&](mpfr_prec_t bits) {
    ev = evaluate_at(h, truth, row, bound2, bits);
    return ev.acc != CaseState::Open;
  });
  return ev;
}

// ---- the accuracy sweep (core/filtered_sweep.hpp) ------------------------------------------

// Token rows, memoised by the token's input.  φ(x_i) depends only on token i's (z_i, y_i, i)
// (the TokenwiseModel contract), and make_instance sets y of Alice's token from a alone and
// the z of the other tokens from b alone; so token j ≠ alice of X(a, b) is token j of Bob's
// view X(0, b), and Alice's token of X(a, b) is Alice's token of X(a, 0).  Every embedding,
// query, key and value is computed once per distinct token input (exactly, then enclosed for
// the fast evaluator), not once per instance.
struct TokenRows {
  std::vector<Rational> z;                   // z_j (d entries)
  std::vector<DInterval> query, key, value;  // enclosures of the exact (rounded-embedding) rows
};

std::uint64_t next_generation() {
  static std::atomic<std::uint64_t> counter{0};
  return ++counter;
}

// What the sweep reads, built once before it (in every MPI rank alike).
struct QsaDisjSetup {
  QsaDisjSetup(const TokenwiseModel& m, const SemanticsPolicy& sem) : model(m), semantics(sem) {}
  const TokenwiseModel& model;
  SemanticsPolicy semantics;
  std::uint64_t generation = next_generation();  // identifies this run to per-thread memos
  int q = 0, N = 0, d = 0, alice = 0;
  std::uint64_t sets = 0;
  Rational bound2, threshold, inv_q;
  DInterval bound2_fast;
  std::vector<Rational> expected_by_overlap;      // ground truth at Alice's token for overlap k: 2k/q − 1
  std::vector<std::vector<Rational>> messages;    // Alice's (rounded) embedding per a
  std::vector<std::vector<int>> alice_sets;       // y of Alice's token per a
  std::vector<TokenRows> alice_rows, bob_rows;    // per a; distinct tokens j ≠ alice
  std::vector<std::uint32_t> bob_index;           // (b, j) -> bob_rows
};

// The accuracy of instance (a, b) at Alice's token: its state against 1/(2q) and a certified
// upper bound on the squared error, exactly a double from the fast evaluator or the exact
// evaluator's rational.  The tally keeps the instance of largest bound (ties: the first), so
// the order is exact: doubles compare as doubles, anything else as rationals.
struct InstanceOutcome {
  CaseState st = CaseState::Open;
  bool exact = false;      // the bound is exact_upper, else fast_upper
  double fast_upper = -1;
  Rational exact_upper;
  CaseState state() const { return st; }
  bool settled() const { return st != CaseState::Open; }
  int group() const { return 0; }
  Rational upper() const { return exact ? exact_upper : Rational(fast_upper); }
  bool tighter_than(const InstanceOutcome& other) const {
    if (!exact && !other.exact) return fast_upper > other.fast_upper;
    return upper() > other.upper();
  }
};
using QsaDisjTally = SweepTally<InstanceOutcome, 1>;

// Part 4 of math §5.1 as a filtered sweep.  Reduction: the 4^q instances (a, b), a case being
// one a with a block of up to 64 consecutive b (outcome index a·2^q + b).  Fast evaluator: the
// attention row of Alice's token in double intervals from the memoised token rows, which also
// checks parts 1 (reduction) and 2 (protocol: Bob's matrices are these rows) of the instance.
// Exact evaluator: the instance's exact matrices through MPFI at the rung's bits, with Bob's
// side recomputed from Alice's message and compared.  A failed reduction or protocol is a bug,
// not a verdict: it throws std::logic_error.
struct QsaDisjSweep {
  using Case = std::pair<std::uint64_t, std::uint64_t>;  // (a, first b of the block)
  using Outcome = InstanceOutcome;
  static constexpr int groups = 1;
  const QsaDisjSetup& s;
  unsigned width = 1;  // b per case: min(2^q, kMaxOutcomesPerCase), a power of two dividing 2^q

  std::uint64_t cases() const { return s.sets * (s.sets / width); }
  unsigned outcomes_per_case() const { return width; }
  template <class F>
  void enumerate(std::uint64_t begin, std::uint64_t end, F&& f) const {
    const std::uint64_t blocks = s.sets / width;
    for (std::uint64_t c = begin; c < end; ++c) f(c, Case{c / blocks, (c % blocks) * width});
  }

  // The exact data of one instance, built on its first exact rung.
  struct ExactInstance {
    Mat<Rational> truth;
    QKV<Rational> model_rows, bob_rows;
  };
  // Ground truth at Alice's token is the mean of z over her set, so it depends only on which
  // token rows her set's tokens have: memoised per a by those rows (exact values, their
  // enclosures, and the parts of the reduction test that do not involve b).
  struct Truth {
    std::vector<Rational> value;
    std::vector<DInterval> enclosure;
    bool below_threshold = false, rest_zero = false;
  };
  // The memo lives per thread, not per chunk: a chunk holds only 64 b, and the truths of one a
  // recur across its chunks.  Its keys index this run's token rows, so it is emptied when the
  // run (generation) or a changes.
  struct TruthMemo {
    std::uint64_t generation = 0, a = UINT64_MAX;
    std::map<std::vector<std::uint32_t>, Truth> truths;
  };
  struct Worker {
    QKV<DInterval> h;
    std::vector<DInterval> scores, weights, out;
    std::vector<std::uint32_t> truth_key;
    std::array<bool, kMaxOutcomesPerCase> pending{};  // outcomes the next exact rung must compute
    std::array<std::optional<ExactInstance>, kMaxOutcomesPerCase> exact_data;
  };
  Worker make_worker() const {
    Worker w;
    const TokenRows& r = s.alice_rows[0];
    w.h = {Mat<DInterval>(s.N, r.query.size()), Mat<DInterval>(s.N, r.key.size()), Mat<DInterval>(s.N, r.value.size())};
    w.scores.resize(s.N);
    w.weights.resize(s.N);
    w.out.resize(r.value.size());
    return w;
  }

  void fast(Worker& w, const Case& c, Outcome* out) const {
    const auto [a, b0] = c;
    const int N = s.N, alice = s.alice;
    const TokenRows& at = s.alice_rows[a];
    thread_local TruthMemo memo;
    if (memo.generation != s.generation || memo.a != a) {
      memo.truths.clear();
      memo.generation = s.generation;
      memo.a = a;
    }
    // Instances share their tokens' rows, so their attention rows repeat exp arguments; the
    // cache returns exp's own values (the same doubles), computed once.
    thread_local DIntervalExpCache exp_cache;
    for (unsigned j = 0; j < width; ++j) {
      const std::uint64_t b = b0 + j;
      w.exact_data[j].reset();
      auto token = [&](int t) -> const TokenRows& { return t == alice ? at : s.bob_rows[s.bob_index[b * N + t]]; };
      // 1. Reduction: ground-truth qSA at Alice's token (the mean of z over her set), which
      //    must decide DISJ by the threshold.
      w.truth_key.clear();
      for (int t : s.alice_sets[a]) w.truth_key.push_back(t == alice ? UINT32_MAX : s.bob_index[b * N + t]);
      auto found = memo.truths.find(w.truth_key);
      if (found == memo.truths.end()) {
        Truth t;
        t.value.assign(s.d, Rational(0));
        for (int col = 0; col < s.d; ++col) {
          for (int k : s.alice_sets[a]) t.value[col] += token(k).z[col];
          t.value[col] *= s.inv_q;
          t.enclosure.push_back(DInterval::from_rational(t.value[col]));
        }
        t.below_threshold = t.value[0] < s.threshold;
        t.rest_zero = true;
        for (int col = 1; col < s.d; ++col) t.rest_zero = t.rest_zero && t.value[col] == 0;
        found = memo.truths.emplace(w.truth_key, std::move(t)).first;
      }
      const Truth& truth = found->second;
      if (!(truth.value[0] == s.expected_by_overlap[std::popcount(a & b)] && truth.below_threshold == disj(a, b) &&
            truth.rest_zero))
        throw std::logic_error("qsa-disj: the reduction failed on some instance");
      // 2. Protocol: Bob's matrices are Alice's message rows plus his own tokens' rows, which
      //    (by the memo above) are the model's matrices on X(a, b) row for row; so Bob's row
      //    of Alice's token is this same computation and equals the model's output.
      //    The attention row of Alice's token in double intervals (the same template and order
      //    as the full forward pass).
      for (int t = 0; t < N; ++t) {
        const TokenRows& r = token(t);
        std::copy(r.query.begin(), r.query.end(), w.h.queries.row(t));
        std::copy(r.key.begin(), r.key.end(), w.h.keys.row(t));
        std::copy(r.value.begin(), r.value.end(), w.h.values.row(t));
      }
      attention_weights(w.h, static_cast<std::size_t>(alice), Normaliser::Softmax, w.scores.data(), w.weights.data(),
                        exp_cache);
      std::fill(w.out.begin(), w.out.end(), DInterval(0.0));
      for (int t = 0; t < N; ++t)
        for (std::size_t col = 0; col < w.out.size(); ++col) w.out[col] += w.weights[t] * w.h.values(t, col);
      // 4. Accuracy at Alice's token.
      Outcome& o = out[j];
      o.st = CaseState::Open;
      o.exact = false;
      DInterval e2(0.0);
      bool finite = true;
      for (int col = 0; col < s.d; ++col) {
        const DInterval diff = w.out[col] - truth.enclosure[col];
        e2 += abs(diff) * abs(diff);
        finite = finite && w.out[col].is_finite();
      }
      if (finite) {
        if (certainly_less_equal(e2, s.bound2_fast)) o.st = CaseState::Holds;
        else if (certainly_less(s.bound2_fast, e2)) o.st = CaseState::Fails;
        o.fast_upper = e2.upper();
      }
      w.pending[j] = o.st == CaseState::Open;
    }
  }

  void exact(Worker& w, const Case& c, mpfr_prec_t bits, Outcome* out) const {
    const auto [a, b0] = c;
    for (unsigned j = 0; j < width; ++j) {
      if (!w.pending[j]) continue;
      const std::uint64_t b = b0 + j;
      if (!w.exact_data[j]) {
        // Exact matrices of the whole instance and of Bob's view (Bob does not know a).
        const QsaInput X = make_instance(s.q, s.N, s.d, a, b);
        const QsaInput bob_view = make_instance(s.q, s.N, s.d, 0, b);
        w.exact_data[j] = ExactInstance{qsa(X.z, X.y), exact_qkv(s.model, X, s.semantics, s.alice, nullptr),
                                        exact_qkv(s.model, bob_view, s.semantics, s.alice, &s.messages[a])};
      }
      const ExactInstance& x = *w.exact_data[j];
      const InstanceEval ev = evaluate_at(x.model_rows, x.truth, s.alice, s.bound2, bits);
      // Bob's row is compared at the rung that decides (or the ladder's last).
      if ((ev.acc != CaseState::Open || bits >= kLadderCeilingBits) &&
          !same_enclosures(ev.out, protocol_row(x.bob_rows, s.alice, bits)))
        throw std::logic_error("qsa-disj: protocol output differs from the forward pass");
      Outcome& o = out[j];
      o.st = ev.acc;
      o.exact = true;
      o.exact_upper = ev.err2.widened_bounds().upper;  // no billion-bit rational after an underflow
      w.pending[j] = o.st == CaseState::Open;
    }
  }
};

// Lossless text of a chunk's tally, so a journal or MPI ranks can carry it.  Only the worst
// outcome's bound and the indices of the first failing and undecided instances are read later.
std::string encode_tally(const QsaDisjTally& t) {
  PartialWriter wr;
  wr.u64(t.cases).u64(t.fallbacks).u64(t.failures).u64(t.undecided);
  auto index = [](const std::optional<IndexedOutcome<InstanceOutcome>>& o) {
    return o ? std::optional<std::pair<std::uint64_t, std::uint64_t>>({o->index, 0}) : std::nullopt;
  };
  wr.optional_pair(index(t.first_failure)).optional_pair(index(t.first_undecided));
  const auto& worst = t.worst[0];
  wr.optional_pair(worst ? std::optional<std::pair<std::uint64_t, std::uint64_t>>({worst->index, worst->outcome.exact})
                         : std::nullopt);
  if (worst) {
    const InstanceOutcome& o = worst->outcome;
    wr.u64(static_cast<std::uint64_t>(o.st));
    if (o.exact) wr.rational(o.exact_upper);
    else wr.u64(std::bit_cast<std::uint64_t>(o.fast_upper));
  }
  return wr.text();
}

QsaDisjTally decode_tally(const std::string& text) {
  PartialReader r(text);
  QsaDisjTally t;
  t.cases = r.u64();
  t.fallbacks = r.u64();
  t.failures = r.u64();
  t.undecided = r.u64();
  t.group_failures[0] = t.failures;
  auto first = [&](CaseState st) -> std::optional<IndexedOutcome<InstanceOutcome>> {
    const auto p = r.optional_pair<std::uint64_t, std::uint64_t>();
    if (!p) return std::nullopt;
    InstanceOutcome o;
    o.st = st;
    return IndexedOutcome<InstanceOutcome>{p->first, o};
  };
  t.first_failure = first(CaseState::Fails);
  t.group_first_failure[0] = t.first_failure;
  t.first_undecided = first(CaseState::Open);
  if (const auto p = r.optional_pair<std::uint64_t, std::uint64_t>()) {
    InstanceOutcome o;
    o.exact = p->second != 0;
    const std::uint64_t st = r.u64();
    if (st > static_cast<std::uint64_t>(CaseState::Open)) throw std::runtime_error("qsa-disj: malformed chunk record");
    o.st = static_cast<CaseState>(st);
    if (o.exact) o.exact_upper = r.rational();
    else o.fast_upper = std::bit_cast<double>(r.u64());
    t.worst[0] = IndexedOutcome<InstanceOutcome>{p->first, std::move(o)};
  }
  r.finish();
  return t;
}

}  // namespace

QsaInput make_instance(int q, int N, int d, std::uint64_t a, std::uint64_t b) {
  QsaInput X{Mat<Rational>(N, d), std::vector<std::vector<int>>(N)};
  std::vector<int> pub(q);
  for (int i = 0; i < q; ++i) pub[i] = i;
  for (int j = 0; j < N; ++j) X.y[j] = pub;
  for (int i = 0; i < q; ++i) {
    X.z(2 * i, 0) = ((b >> i) & 1U) ? 1 : -1;
    X.z(2 * i + 1, 0) = -1;
  }
  std::vector<int> alice;
  for (int i = 0; i < q; ++i) alice.push_back(((a >> i) & 1U) ? 2 * i : 2 * i + 1);
  X.y[alice_token(q)] = alice;
  return X;
}

std::unique_ptr<TokenwiseModel> make_random_model(int N, int q, int d, int m, std::uint64_t seed,
                                                  const Rational& scale) {
  return std::make_unique<RandomModel>(N, q, d, m, seed, scale);
}

std::unique_ptr<TokenwiseModel> wrap_qsa_embedding(std::shared_ptr<const QsaEmbedding> emb) {
  return std::make_unique<QsaEmbeddingModel>(std::move(emb));
}

Rational random_model_scale(const Semantics& sem) {
  if (sem.kind == Semantics::Kind::Embed && sem.format.kind == Format::Kind::Fixed) {
    const Rational top = sem.format.fixed_max();
    return top > 0 ? top : Rational(1, 2);
  }
  return Rational(1);
}

void QsaDisjOptions::validate() const {
  check_field_range("q", q, kQ);
  if (N != 0) check_field_range("N", N, 2 * q + 1, kMaxN);
  check_field_range("d", d, kD);
  policy();  // refuses every semantics but exact and embed:<fmt>
}

SemanticsPolicy QsaDisjOptions::policy() const {
  return SemanticsPolicy(semantics, kSemantics, "lower qsa-disj (the communication model of math §5.1)");
}

QsaDisjResult run_qsa_disj(const QsaDisjOptions& o, const TokenwiseModel& model) {
  o.validate();
  const int q = o.q, N = o.tokens(), d = o.d;
  const std::uint64_t sets = std::uint64_t{1} << q, instances = o.instances();
  const int alice = alice_token(q);
  const Rational bound(1, 2 * q), bound2 = bound * bound;

  const SemanticsPolicy policy = o.policy();
  QsaDisjSetup setup(model, policy);
  setup.q = q;
  setup.N = N;
  setup.d = d;
  setup.alice = alice;
  setup.sets = sets;
  setup.bound2 = bound2;
  setup.threshold = Rational(-1) + Rational(1, q);
  setup.inv_q = Rational(1, q);
  auto enclose = [](const std::vector<Rational>& v) {
    std::vector<DInterval> out;
    out.reserve(v.size());
    for (const auto& r : v) out.push_back(DInterval::from_rational(r));
    return out;
  };
  auto rows_of = [&](const QsaInput& X, int i, const std::vector<Rational>& phi) {
    TokenRows t;
    for (int c = 0; c < d; ++c) t.z.push_back(X.z(i, c));
    std::vector<Rational> qr, kr, vr;
    model.qkv(phi, qr, kr, vr);
    t.query = enclose(qr);
    t.key = enclose(kr);
    t.value = enclose(vr);
    return t;
  };
  setup.messages.resize(sets);
  setup.alice_sets.resize(sets);
  setup.alice_rows.resize(sets);
  setup.bob_index.assign(static_cast<std::size_t>(sets) * N, 0);
  {
    std::map<std::tuple<int, std::vector<Rational>, std::vector<int>>, std::uint32_t> seen;
    auto alice_of = [&](std::uint64_t a) {
      const QsaInput Xa = make_instance(q, N, d, a, 0);
      validate_qsa_input(Xa.z, Xa.y, q);
      setup.messages[a] = rounded_embedding(model, Xa, alice, policy);
      setup.alice_sets[a] = Xa.y[alice];
      setup.alice_rows[a] = rows_of(Xa, alice, setup.messages[a]);
    };
    alice_of(0);
    for (std::uint64_t b = 0; b < sets; ++b) {
      const QsaInput Xb = make_instance(q, N, d, 0, b);  // Bob's view
      validate_qsa_input(Xb.z, Xb.y, q);
      for (int j = 0; j < N; ++j) {
        if (j == alice) continue;
        std::vector<Rational> zj;
        for (int c = 0; c < d; ++c) zj.push_back(Xb.z(j, c));
        auto [it, fresh] =
            seen.try_emplace({j, std::move(zj), Xb.y[j]}, static_cast<std::uint32_t>(setup.bob_rows.size()));
        if (fresh) setup.bob_rows.push_back(rows_of(Xb, j, rounded_embedding(model, Xb, j, policy)));
        setup.bob_index[b * N + j] = it->second;
      }
    }
    for (std::uint64_t a = 1; a < sets; ++a) alice_of(a);
  }
  setup.bound2_fast = DInterval::from_rational(bound2);
  setup.expected_by_overlap.resize(q + 1);
  for (int k = 0; k <= q; ++k) {
    Rational e(2 * k, q);
    e.canonicalize();
    setup.expected_by_overlap[k] = e - 1;
  }

  // Parts 1, 2 and 4 on every instance: the generic filtered sweep.
  const QsaDisjSweep sweep{setup, static_cast<unsigned>(std::min<std::uint64_t>(sets, kMaxOutcomesPerCase))};
  SweepControl<QsaDisjSweep> control;
  control.codec = {&encode_tally, &decode_tally};
  const QsaDisjTally total = filtered_sweep(sweep, o.threads, control);
  if (total.cases != instances) throw std::logic_error("qsa-disj: the sweep did not cover every instance");
  const std::vector<std::vector<Rational>>& messages = setup.messages;

  // 3. Message counting.
  std::map<std::vector<Rational>, std::uint64_t> first_with;
  std::optional<std::pair<std::uint64_t, std::uint64_t>> collision;
  for (std::uint64_t a = 0; a < sets; ++a) {
    auto [it, inserted] = first_with.try_emplace(messages[a], a);
    if (!inserted && !collision) collision = {it->second, a};
  }
  const std::size_t entries = messages.empty() ? 0 : messages[0].size();

  QsaDisjResult res;
  res.model = model.name();
  res.m = model.m();
  res.q = q;
  res.instances = instances;
  res.reduction_verified = instances;  // else a logic_error in the sweep
  res.protocol_equal_instances = instances;  // likewise
  res.messages_distinct = first_with.size();
  res.messages_needed = sets;
  res.message_entries = entries;
  if (policy.embed()) {
    // A message is a fixed-width code agreed on before the sets are seen: every entry costs the
    // format's bits, and for float:P that includes the exponents Alice's messages actually use.
    const Format& fmt = policy.format();
    ExponentRange used;
    for (const auto& msg : messages)
      for (const auto& v : msg) used.add(v);
    const int w = encoded_value_bits(fmt, used);
    res.bits_per_entry = w;
    res.message_bits = entries * static_cast<std::uint64_t>(w);
    if (fmt.kind == Format::Kind::Float) {
      res.exponent_bits_seen = float_exponent_bits(used);
      res.width_counting = fmt::format(
          "w = 1 sign + {} fraction + {} exponent bits (float:{} is unbounded: the exponents Alice's messages use, {}, "
          "plus one code for zero)",
          fmt.P - 1, *res.exponent_bits_seen, fmt.P,
          used.any ? fmt::format("{}..{}", used.min, used.max) : std::string("none"));
    } else if (fmt.kind == Format::Kind::Bounded) {
      res.width_counting = fmt::format("w = 1 sign + {} exponent + {} fraction bits (the full width of {})", fmt.E,
                                       fmt.P - 1, fmt.name());
    } else {
      res.width_counting = fmt::format("w = I + F = {} + {} bits ({})", fmt.I, fmt.F, fmt.name());
    }
    const std::uint64_t bits = *res.message_bits;
    res.width_consistent = bits >= 63 || res.messages_distinct <= (std::uint64_t{1} << bits);
  }
  // Reaching here means the reduction and the protocol were verified on every instance (else a
  // logic_error above); the counting bound is then a proof whenever the width is finite and
  // really encodes every message seen.
  if (res.message_bits && res.width_consistent) {
    res.bound_proved = fmt::format(
        "one-way DISJ_q: under {}, the output at token 2q+1 is a function of Alice's message (reduction and "
        "protocol verified on all 4^q instances), so a model that 1/(2q)-approximates qSA on them sends 2^q "
        "distinct messages and needs m*w >= q = {} bits; this model's message takes {}*{} = {} bits",
        o.semantics.name(), q, entries, *res.bits_per_entry, *res.message_bits);
    res.pigeonhole_forces_collision = *res.message_bits < static_cast<std::uint64_t>(q);
  }
  res.bits_bound = q;
  res.bound = bound;

  Verdict verdict = Verdict::Holds;
  QsaDisjWitness& w = res.witness;
  w.token = alice;
  if (collision) {
    // a' ⊄ a: then b = complement of a is disjoint from a and meets a'.
    auto [a1, a2] = *collision;
    if ((a2 & ~a1) == 0) std::swap(a1, a2);
    const std::uint64_t b = (sets - 1) & ~a1;
    const QsaInput X1 = make_instance(q, N, d, a1, b), X2 = make_instance(q, N, d, a2, b);
    const Mat<Rational> t1 = qsa(X1.z, X1.y), t2 = qsa(X2.z, X2.y);
    const QKV<Rational> h1 = exact_qkv(model, X1, policy, alice, nullptr);
    const QKV<Rational> h2 = exact_qkv(model, X2, policy, alice, nullptr);
    InstanceEval e1, e2;
    // The witness's re-verification: both forward passes along the sweep's ladder until one
    // violates (their outputs must agree at every rung: the messages are equal).
    raise_precision([&](mpfr_prec_t bits) {
      e1 = evaluate_at(h1, t1, alice, bound2, bits);
      e2 = evaluate_at(h2, t2, alice, bound2, bits);
      if (!same_enclosures(e1.out, e2.out)) throw std::logic_error("qsa-disj: colliding inputs gave different outputs");
      return e1.acc == CaseState::Fails || e2.acc == CaseState::Fails;
    });
    const bool verified = e1.acc == CaseState::Fails || e2.acc == CaseState::Fails;
    verdict = verified ? Verdict::Fails : Verdict::Undecided;
    const Interval err1 = error_of(e1.err2), err2 = error_of(e2.err2);
    res.worst_error = enclosure_of(err1.upper() >= err2.upper() ? err1 : err2);
    w.kind = QsaDisjWitnessKind::Collision;
    w.a = a1;
    w.a_prime = a2;
    w.b = b;
    w.inputs = {X1, X2};
    w.message = messages[a1];
    w.model_outputs = {enclosures_of(e1.out), enclosures_of(e2.out)};
    w.true_outputs = {truth_row(t1, alice), truth_row(t2, alice)};
    w.errors = {enclosure_of(err1), enclosure_of(err2)};
  } else {
    // The reported instance: the first inaccurate one, else the first undecided, else the worst.
    const auto& shown = total.first_failure ? total.first_failure
                        : total.first_undecided ? total.first_undecided
                                                : total.worst[0];
    const std::uint64_t a = shown->index / sets, b = shown->index % sets;
    const QsaInput X = make_instance(q, N, d, a, b);
    const Mat<Rational> t = qsa(X.z, X.y);
    const InstanceEval ev = evaluate_forward(exact_qkv(model, X, policy, alice, nullptr), t, alice, bound2);
    // "fails" only when this direct forward pass confirms the violation.
    verdict = sweep_verdict_of(total, shown->index, [&](std::uint64_t) { return ev.acc == CaseState::Fails; });
    const Interval err = error_of(ev.err2);
    res.worst_error = enclosure_of(err);
    w.kind = verdict == Verdict::Fails ? QsaDisjWitnessKind::Inaccurate : QsaDisjWitnessKind::WorstInstance;
    w.a = a;
    w.b = b;
    w.inputs = {X};
    w.message = messages[a];
    w.model_outputs = {enclosures_of(ev.out)};
    w.true_outputs = {truth_row(t, alice)};
    w.errors = {enclosure_of(err)};
  }
  res.undecided_instances = total.undecided;
  res.fallback_instances = total.fallbacks;
  res.verdict = verdict;
  return res;
}

}  // namespace attnbounds::qsa_disj
