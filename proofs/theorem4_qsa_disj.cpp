#include "proofs/theorem4_qsa_disj.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <map>
#include <optional>
#include <random>
#include <tuple>
#include <stdexcept>

#include "core/config_error.hpp"
#include "core/field_checks.hpp"
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

constexpr mpfr_prec_t kStartBits = 128, kMaxBits = 4096;

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

std::vector<Rational> rounded_embedding(const TokenwiseModel& model, const QsaInput& X, int i, const Semantics& sem) {
  auto phi = model.embed(X, i);
  if (sem.kind == Semantics::Kind::Embed) {
    for (auto& v : phi) {
      try {
        v = round_to(sem.format, v);
      } catch (const FormatRangeError& e) {
        throw ConfigError("semantics", fmt::format("the embedding entry {} of token {} is outside the range of {} "
                                                   "(fixed formats never clamp); choose a wider format",
                                                   to_decimal_string(v, 6), i + 1, sem.format.name()));
      }
    }
  }
  return phi;
}

// Exact query/key/value matrices of the model on X; `alice_phi` (if given) replaces the
// embedding of Alice's token: that is all Bob learns from Alice.
QKV<Rational> exact_qkv(const TokenwiseModel& model, const QsaInput& X, const Semantics& sem, int alice,
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

enum class Accuracy { Within, Violates, Undecided };

Accuracy classify(const Interval& err2, const Rational& bound2, mpfr_prec_t bits) {
  const Interval b2(bound2, bits);
  if (certainly_less_equal(err2, b2)) return Accuracy::Within;
  if (certainly_less(b2, err2)) return Accuracy::Violates;
  return Accuracy::Undecided;
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
  Accuracy acc = Accuracy::Undecided;
  mpfr_prec_t bits = kStartBits;
};

// Forward pass with precision escalation until the accuracy verdict is decided.
InstanceEval evaluate_forward(const QKV<Rational>& h, const Mat<Rational>& truth, int row, const Rational& bound2) {
  InstanceEval ev;
  for (mpfr_prec_t bits = kStartBits; bits <= kMaxBits; bits *= 2) {
    ev.bits = bits;
    ev.out = forward_row(h, row, bits);
    ev.err2 = squared_error(ev.out, truth, row, bits);
    ev.acc = classify(ev.err2, bound2, bits);
    if (ev.acc != Accuracy::Undecided) break;
  }
  return ev;
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
  if (!(semantics.kind == Semantics::Kind::Exact || semantics.kind == Semantics::Kind::Embed))
    throw ConfigError("semantics", "qsa-disj runs under exact or embed:<fmt> (the communication model of §5.1)");
}

QsaDisjResult run_qsa_disj(const QsaDisjOptions& o, const TokenwiseModel& model) {
  o.validate();
  const int q = o.q, N = o.tokens(), d = o.d;
  const std::uint64_t sets = std::uint64_t{1} << q, instances = o.instances();
  const int alice = alice_token(q);
  const Rational bound(1, 2 * q), bound2 = bound * bound, threshold = Rational(-1) + Rational(1, q);

  struct Partial {
    std::uint64_t instances = 0, reduction_ok = 0, protocol_equal = 0, undecided = 0;
    std::vector<std::vector<Rational>> messages;  // indexed by a within the chunk order
    std::optional<std::pair<std::uint64_t, std::uint64_t>> first_violation, first_undecided;
    Rational worst_err2_upper = -1;
    std::pair<std::uint64_t, std::uint64_t> worst{0, 0};
  };

  // Token rows, memoised by the token's input.  φ(x_i) depends only on token i's (z_i, y_i, i)
  // (the TokenwiseModel contract), and make_instance sets y of Alice's token from a alone and
  // the z of the other tokens from b alone; so token j ≠ alice of X(a, b) is token j of Bob's
  // view X(0, b), and Alice's token of X(a, b) is Alice's token of X(a, 0).  Every embedding,
  // query, key and value is computed once per distinct token input (exactly, then enclosed as
  // the fast path always did), not once per instance.
  struct TokenRows {
    std::vector<Rational> z;                  // z_j (d entries)
    std::vector<DInterval> query, key, value;  // enclosures of the exact (rounded-embedding) rows
  };
  auto enclose = [](const std::vector<Rational>& v) {
    std::vector<DInterval> out;
    out.reserve(v.size());
    for (const auto& r : v) out.push_back(DInterval::from_interval(Interval(r, 64)));
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
  std::vector<std::vector<Rational>> messages(sets);   // Alice's (rounded) embedding per a
  std::vector<std::vector<int>> alice_sets(sets);      // y of Alice's token per a
  std::vector<TokenRows> alice_rows(sets);
  std::vector<TokenRows> bob_rows;                     // distinct tokens j ≠ alice
  std::vector<std::uint32_t> bob_index(static_cast<std::size_t>(sets) * N, 0);  // (b, j) -> bob_rows
  {
    std::map<std::tuple<int, std::vector<Rational>, std::vector<int>>, std::uint32_t> seen;
    auto alice_of = [&](std::uint64_t a) {
      const QsaInput Xa = make_instance(q, N, d, a, 0);
      validate_qsa_input(Xa.z, Xa.y, q);
      messages[a] = rounded_embedding(model, Xa, alice, o.semantics);
      alice_sets[a] = Xa.y[alice];
      alice_rows[a] = rows_of(Xa, alice, messages[a]);
    };
    alice_of(0);
    for (std::uint64_t b = 0; b < sets; ++b) {
      const QsaInput Xb = make_instance(q, N, d, 0, b);  // Bob's view
      validate_qsa_input(Xb.z, Xb.y, q);
      for (int j = 0; j < N; ++j) {
        if (j == alice) continue;
        std::vector<Rational> zj;
        for (int c = 0; c < d; ++c) zj.push_back(Xb.z(j, c));
        auto [it, fresh] = seen.try_emplace({j, std::move(zj), Xb.y[j]}, static_cast<std::uint32_t>(bob_rows.size()));
        if (fresh) bob_rows.push_back(rows_of(Xb, j, rounded_embedding(model, Xb, j, o.semantics)));
        bob_index[b * N + j] = it->second;
      }
    }
    for (std::uint64_t a = 1; a < sets; ++a) alice_of(a);
  }
  const DInterval bound2_fast = DInterval::from_interval(Interval(bound2, 64));
  const Rational inv_q(1, q);
  // The ground truth DISJ forces at Alice's token for an overlap of k elements: 2k/q − 1.
  std::vector<Rational> expected_by_overlap(q + 1);
  for (int k = 0; k <= q; ++k) {
    Rational e(2 * k, q);
    e.canonicalize();
    expected_by_overlap[k] = e - 1;
  }

  auto body = [&](std::uint64_t begin, std::uint64_t end, Partial& p) {
    // Scratch of one chunk: the instance's enclosed query/key/value matrices, scores, weights.
    QKV<DInterval> h{Mat<DInterval>(N, alice_rows[0].query.size()), Mat<DInterval>(N, alice_rows[0].key.size()),
                     Mat<DInterval>(N, alice_rows[0].value.size())};
    std::vector<DInterval> scores(N), weights(N), out(h.values.cols());
    // Ground truth at Alice's token is the mean of z over her set, so it depends only on which
    // token rows her set's tokens have: memoised per a by those rows (exact values, their
    // enclosures, and the parts of the reduction test that do not involve b).
    struct Truth {
      std::vector<Rational> value;
      std::vector<DInterval> enclosure;
      bool below_threshold = false, rest_zero = false;
    };
    std::map<std::vector<std::uint32_t>, Truth> truths;
    std::vector<std::uint32_t> truth_key;
    // The worst squared error so far as a Rational, and doubles around it for a cheap comparison.
    double worst_lo = -1, worst_hi = -1;
    auto exceeds_worst = [&](double x) {
      if (x > worst_hi) return true;
      if (x <= worst_lo) return false;
      return Rational(x) > p.worst_err2_upper;
    };
    // Instances share their tokens' rows, so their attention rows repeat exp arguments; the
    // cache returns exp's own values (the same doubles), computed once.
    thread_local DIntervalExpCache exp_cache;
    for (std::uint64_t a = begin; a < end; ++a) {
      p.messages.push_back(messages[a]);
      const TokenRows& at = alice_rows[a];
      truths.clear();
      for (std::uint64_t b = 0; b < sets; ++b) {
        auto token = [&](int j) -> const TokenRows& { return j == alice ? at : bob_rows[bob_index[b * N + j]]; };
        // 1. Reduction: ground-truth qSA at Alice's token (the mean of z over her set), which
        //    must decide DISJ by the threshold.
        truth_key.clear();
        for (int j : alice_sets[a]) truth_key.push_back(j == alice ? UINT32_MAX : bob_index[b * N + j]);
        auto found = truths.find(truth_key);
        if (found == truths.end()) {
          Truth t;
          t.value.assign(d, Rational(0));
          for (int c = 0; c < d; ++c) {
            for (int j : alice_sets[a]) t.value[c] += token(j).z[c];
            t.value[c] *= inv_q;
            t.enclosure.push_back(DInterval::from_interval(Interval(t.value[c], 64)));
          }
          t.below_threshold = t.value[0] < threshold;
          t.rest_zero = true;
          for (int c = 1; c < d; ++c) t.rest_zero = t.rest_zero && t.value[c] == 0;
          found = truths.emplace(truth_key, std::move(t)).first;
        }
        const Truth& truth = found->second;
        const bool red_ok = truth.value[0] == expected_by_overlap[std::popcount(a & b)] &&
                            truth.below_threshold == disj(a, b) && truth.rest_zero;
        p.reduction_ok += red_ok ? 1 : 0;
        // 2. Protocol: Bob's matrices are Alice's message rows plus his own tokens' rows, which
        //    (by the memo above) are the model's matrices on X(a, b) row for row; so Bob's row
        //    of Alice's token is this same computation and equals the model's output.
        // Fast path first: the attention row of Alice's token in double intervals (the same
        // template and order as the full forward pass); MPFI only when it does not decide.
        for (int j = 0; j < N; ++j) {
          const TokenRows& t = token(j);
          std::copy(t.query.begin(), t.query.end(), h.queries.row(j));
          std::copy(t.key.begin(), t.key.end(), h.keys.row(j));
          std::copy(t.value.begin(), t.value.end(), h.values.row(j));
        }
        attention_weights(h, static_cast<std::size_t>(alice), Normaliser::Softmax, scores.data(), weights.data(),
                          exp_cache);
        std::fill(out.begin(), out.end(), DInterval(0.0));
        for (int j = 0; j < N; ++j)
          for (std::size_t c = 0; c < out.size(); ++c) out[c] += weights[j] * h.values(j, c);
        Accuracy acc = Accuracy::Undecided;
        Rational err2_upper;
        double err2_upper_double = 0;  // the fast path's value, exactly a double
        bool exact_path = false;
        {
          DInterval e2(0.0);
          bool finite = true;
          for (int c = 0; c < d; ++c) {
            const DInterval diff = out[c] - truth.enclosure[c];
            e2 += abs(diff) * abs(diff);
            finite = finite && out[c].is_finite();
          }
          if (finite) {
            if (certainly_less_equal(e2, bound2_fast)) acc = Accuracy::Within;
            else if (certainly_less(bound2_fast, e2)) acc = Accuracy::Violates;
            if (acc != Accuracy::Undecided) {
              ++p.protocol_equal;
              err2_upper_double = e2.upper();
            }
          }
        }
        if (acc == Accuracy::Undecided) {
          exact_path = true;
          // Exact matrices of the whole instance and of Bob's view, MPFI along the ladder.
          const QsaInput X = make_instance(q, N, d, a, b);
          const Mat<Rational> truth_exact = qsa(X.z, X.y);
          const QKV<Rational> h_model = exact_qkv(model, X, o.semantics, alice, nullptr);
          const QsaInput bob_view = make_instance(q, N, d, 0, b);  // Bob does not know a
          const QKV<Rational> h_bob = exact_qkv(model, bob_view, o.semantics, alice, &messages[a]);
          InstanceEval ev = evaluate_forward(h_model, truth_exact, alice, bound2);
          p.protocol_equal += same_enclosures(ev.out, protocol_row(h_bob, alice, ev.bits)) ? 1 : 0;
          acc = ev.acc;
          err2_upper = ev.err2.widened_bounds().upper;  // no billion-bit rational after an underflow
        }
        // 4. Accuracy at Alice's token.
        if (acc == Accuracy::Violates && !p.first_violation) p.first_violation = {a, b};
        if (acc == Accuracy::Undecided) {
          ++p.undecided;
          if (!p.first_undecided) p.first_undecided = {a, b};
        }
        if (exact_path ? err2_upper > p.worst_err2_upper : exceeds_worst(err2_upper_double)) {
          p.worst_err2_upper = exact_path ? err2_upper : Rational(err2_upper_double);
          p.worst = {a, b};
          const DInterval w = DInterval::from_rational(p.worst_err2_upper);
          worst_lo = w.lower();
          worst_hi = w.upper();
        }
        ++p.instances;
      }
    }
  };
  auto combine = [](Partial& acc, Partial&& p) {
    acc.instances += p.instances;
    acc.reduction_ok += p.reduction_ok;
    acc.protocol_equal += p.protocol_equal;
    acc.undecided += p.undecided;
    for (auto& m : p.messages) acc.messages.push_back(std::move(m));
    if (!acc.first_violation) acc.first_violation = p.first_violation;
    if (!acc.first_undecided) acc.first_undecided = p.first_undecided;
    if (p.worst_err2_upper > acc.worst_err2_upper) {
      acc.worst_err2_upper = p.worst_err2_upper;
      acc.worst = p.worst;
    }
  };
  // Lossless text of a chunk's partial, so a journal or MPI ranks can carry it.
  PartialCodec<Partial> codec;
  codec.encode = [](const Partial& p) {
    PartialWriter w;
    w.u64(p.instances).u64(p.reduction_ok).u64(p.protocol_equal).u64(p.undecided);
    w.optional_pair(p.first_violation).optional_pair(p.first_undecided).rational(p.worst_err2_upper).pair(p.worst);
    w.u64(p.messages.size());
    for (const auto& m : p.messages) w.rationals(m);
    return w.text();
  };
  codec.decode = [](const std::string& text) {
    PartialReader r(text);
    Partial p;
    p.instances = r.u64();
    p.reduction_ok = r.u64();
    p.protocol_equal = r.u64();
    p.undecided = r.u64();
    p.first_violation = r.optional_pair<std::uint64_t, std::uint64_t>();
    p.first_undecided = r.optional_pair<std::uint64_t, std::uint64_t>();
    p.worst_err2_upper = r.rational();
    p.worst = r.pair();
    const std::uint64_t n = r.u64();
    for (std::uint64_t i = 0; i < n; ++i) p.messages.push_back(r.rationals());
    r.finish();
    return p;
  };
  Partial total = parallel_reduce(sets, o.threads, Partial{}, body, combine, nullptr, nullptr, codec);
  if (total.reduction_ok != instances) throw std::logic_error("qsa-disj: the reduction failed on some instance");
  if (total.protocol_equal != instances) throw std::logic_error("qsa-disj: protocol output differs from the forward pass");

  // 3. Message counting.
  std::map<std::vector<Rational>, std::uint64_t> first_with;
  std::optional<std::pair<std::uint64_t, std::uint64_t>> collision;
  for (std::uint64_t a = 0; a < sets; ++a) {
    auto [it, inserted] = first_with.try_emplace(total.messages[a], a);
    if (!inserted && !collision) collision = {it->second, a};
  }
  const std::size_t entries = total.messages.empty() ? 0 : total.messages[0].size();

  QsaDisjResult res;
  res.model = model.name();
  res.m = model.m();
  res.q = q;
  res.instances = instances;
  res.reduction_verified = total.reduction_ok;
  res.protocol_equal_instances = total.protocol_equal;
  res.messages_distinct = first_with.size();
  res.messages_needed = sets;
  res.message_entries = entries;
  if (o.semantics.kind == Semantics::Kind::Embed) {
    // A message is a fixed-width code agreed on before the sets are seen: every entry costs the
    // format's bits, and for float:P that includes the exponents Alice's messages actually use.
    const Format& fmt = o.semantics.format;
    ExponentRange used;
    for (const auto& msg : total.messages)
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
    const QKV<Rational> h1 = exact_qkv(model, X1, o.semantics, alice, nullptr);
    const QKV<Rational> h2 = exact_qkv(model, X2, o.semantics, alice, nullptr);
    InstanceEval e1, e2;
    for (mpfr_prec_t bits = kStartBits; bits <= kMaxBits; bits *= 2) {
      e1.out = forward_row(h1, alice, bits);
      e2.out = forward_row(h2, alice, bits);
      e1.err2 = squared_error(e1.out, t1, alice, bits);
      e2.err2 = squared_error(e2.out, t2, alice, bits);
      e1.acc = classify(e1.err2, bound2, bits);
      e2.acc = classify(e2.err2, bound2, bits);
      if (!same_enclosures(e1.out, e2.out)) throw std::logic_error("qsa-disj: colliding inputs gave different outputs");
      if (e1.acc == Accuracy::Violates || e2.acc == Accuracy::Violates) break;
    }
    const bool verified = e1.acc == Accuracy::Violates || e2.acc == Accuracy::Violates;
    verdict = verified ? Verdict::Fails : Verdict::Undecided;
    const Interval err1 = error_of(e1.err2), err2 = error_of(e2.err2);
    res.worst_error = enclosure_of(err1.upper() >= err2.upper() ? err1 : err2);
    w.kind = QsaDisjWitnessKind::Collision;
    w.a = a1;
    w.a_prime = a2;
    w.b = b;
    w.inputs = {X1, X2};
    w.message = total.messages[a1];
    w.model_outputs = {enclosures_of(e1.out), enclosures_of(e2.out)};
    w.true_outputs = {truth_row(t1, alice), truth_row(t2, alice)};
    w.errors = {enclosure_of(err1), enclosure_of(err2)};
  } else {
    std::optional<std::pair<std::uint64_t, std::uint64_t>> shown = total.first_violation;
    if (shown) verdict = Verdict::Fails;
    else if (total.undecided > 0) {
      verdict = Verdict::Undecided;
      shown = total.first_undecided;
    } else {
      shown = total.worst;
    }
    const auto [a, b] = *shown;
    const QsaInput X = make_instance(q, N, d, a, b);
    const Mat<Rational> t = qsa(X.z, X.y);
    InstanceEval ev = evaluate_forward(exact_qkv(model, X, o.semantics, alice, nullptr), t, alice, bound2);
    // "fails" only when this direct forward pass confirms the violation.
    if (verdict == Verdict::Fails && ev.acc != Accuracy::Violates) verdict = Verdict::Undecided;
    const Interval err = error_of(ev.err2);
    res.worst_error = enclosure_of(err);
    w.kind = verdict == Verdict::Fails ? QsaDisjWitnessKind::Inaccurate : QsaDisjWitnessKind::WorstInstance;
    w.a = a;
    w.b = b;
    w.inputs = {X};
    w.message = total.messages[a];
    w.model_outputs = {enclosures_of(ev.out)};
    w.true_outputs = {truth_row(t, alice)};
    w.errors = {enclosure_of(err)};
  }
  res.undecided_instances = total.undecided;
  res.verdict = verdict;
  return res;
}

}  // namespace attnbounds::qsa_disj
