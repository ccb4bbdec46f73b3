// Theorems 4 and 7 on the generic filtered sweep: the exact rung settles what the double
// evaluator cannot (counted as a fallback), the ladder's end leaves a case undecided, and the
// tallies do not depend on the thread count.
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "enumerate/parallel.hpp"
#include "enumerate/run_control.hpp"

#include "numeric/format.hpp"
#include "proofs/theorem4_qsa_disj.hpp"
#include "proofs/theorem7_match3_disj.hpp"
#include "tasks/tasks.hpp"

using namespace attnbounds;

namespace {

// Every token's value is the constant c and every score 0, so the output at Alice's token is
// c whatever the weights, while qSA there is 2k/q − 1 (k = |a ∩ b|).  Alice's embedding also
// carries a code of her set, so her messages are distinct (no collision decides the verdict).
class ConstantValueModel : public qsa_disj::TokenwiseModel {
 public:
  explicit ConstantValueModel(Rational c) : c_(std::move(c)) {}
  std::string name() const override { return "constant"; }
  int m() const override { return 2; }
  std::vector<Rational> embed(const qsa_disj::QsaInput& X, int i) const override {
    long code = 0;
    for (int j : X.y[i]) code += 1L << j;
    return {c_, Rational(code)};
  }
  void qkv(const std::vector<Rational>& phi, std::vector<Rational>& query, std::vector<Rational>& key,
           std::vector<Rational>& value) const override {
    query = {Rational(0)};
    key = {Rational(0)};
    value = {phi[0]};
  }

 private:
  Rational c_;
};

// Attention on Alice's set at temperature T: query = T·1_y, key = e_i, value = z_i + offset.
// The output at Alice's token is within about e^-T of qSA + offset, for every instance.
class SetAttentionModel : public qsa_disj::TokenwiseModel {
 public:
  SetAttentionModel(int N, long T, Rational offset = Rational(0)) : N_(N), T_(T), offset_(std::move(offset)) {}
  std::string name() const override { return "set-attention"; }
  int m() const override { return 1 + 2 * N_; }
  std::vector<Rational> embed(const qsa_disj::QsaInput& X, int i) const override {
    std::vector<Rational> phi(static_cast<std::size_t>(1 + 2 * N_), Rational(0));
    phi[0] = X.z(i, 0) + offset_;
    for (int j : X.y[i]) phi[static_cast<std::size_t>(1 + j)] = T_;
    phi[static_cast<std::size_t>(1 + N_ + i)] = 1;
    return phi;
  }
  void qkv(const std::vector<Rational>& phi, std::vector<Rational>& query, std::vector<Rational>& key,
           std::vector<Rational>& value) const override {
    query.assign(phi.begin() + 1, phi.begin() + 1 + N_);
    key.assign(phi.begin() + 1 + N_, phi.end());
    value = {phi[0]};
  }

 private:
  int N_;
  long T_;
  Rational offset_;
};

qsa_disj::QsaDisjOptions options(int q, const char* semantics, unsigned threads) {
  qsa_disj::QsaDisjOptions o;
  o.q = q;
  o.semantics = parse_semantics(semantics);
  o.threads = threads;
  return o;
}

// Records every chunk's payload, then (replay) hands each one back as known: the second run
// folds nothing but decoded tallies.
struct RecordThenReplay : ChunkHooks {
  bool replay = false;
  std::map<std::uint64_t, std::string> payloads;
  std::optional<std::string> known(std::uint64_t chunk) override {
    if (!replay) return std::nullopt;
    return payloads.at(chunk);
  }
  void completed(std::uint64_t chunk, const std::string& payload) override { payloads[chunk] = payload; }
};

Rational two_to(int e) {
  Rational r(1);
  for (int i = 0; i < e; ++i) r *= 2;
  return r;
}

}  // namespace

TEST_CASE("qsa-disj: an error 2^-70 above the bound is a fallback the first exact rung settles", "[lower][sweep]") {
  // q = 2, bound 1/4.  c = 3/4 − 2^-70: the instance a = b = {1, 2} (k = 2, qSA = 1) misses by
  // 1/4 + 2^-70, which no double enclosure separates from 1/4 but 128-bit MPFI does; every
  // other instance misses by about 3/4 or 7/4, decided in doubles.
  const ConstantValueModel model(Rational(3, 4) - 1 / two_to(70));
  for (unsigned threads : {1u, 2u, 3u}) {
    INFO("threads = " << threads);
    const auto res = qsa_disj::run_qsa_disj(options(2, "exact", threads), model);
    CHECK(res.instances == 16);
    CHECK(res.fallback_instances == 1);
    CHECK(res.undecided_instances == 0);
    CHECK(res.messages_distinct == 4);
    CHECK(res.verdict == Verdict::Fails);
    REQUIRE(res.witness.kind == qsa_disj::QsaDisjWitnessKind::Inaccurate);
    // The first inaccurate instance in the order a·4 + b is a = b = ∅ (k = 0, qSA = −1).
    CHECK(res.witness.a == 0);
    CHECK(res.witness.b == 0);
    CHECK(res.witness.true_outputs[0][0] == -1);
    CHECK(res.worst_error.lower > Rational(7, 4) - Rational(1, 1000));
  }
}

TEST_CASE("qsa-disj: an error exactly on the bound stays undecided after the whole ladder", "[lower][sweep]") {
  // c = 3/4: the instance a = b = {1, 2} misses by exactly 1/4 = 1/(2q); the weights 1/5 are
  // inexact at every precision, so no rung decides it.
  const ConstantValueModel model(Rational(3, 4));
  for (unsigned threads : {1u, 2u, 3u}) {
    INFO("threads = " << threads);
    const auto res = qsa_disj::run_qsa_disj(options(2, "exact", threads), model);
    CHECK(res.fallback_instances == 1);
    CHECK(res.undecided_instances == 1);
    // Other instances are certainly inaccurate and their witness re-verifies: fails.
    CHECK(res.verdict == Verdict::Fails);
    CHECK(res.witness.a == 0);
    CHECK(res.witness.b == 0);
  }
}

TEST_CASE("qsa-disj: the worst instance of a passing model is the same for 1, 2 and 3 threads", "[lower][sweep]") {
  const int q = 4;
  const SetAttentionModel model(2 * q + 1, 12);
  const auto one = qsa_disj::run_qsa_disj(options(q, "exact", 1), model);
  REQUIRE(one.verdict == Verdict::Holds);
  CHECK(one.fallback_instances == 0);
  CHECK(one.witness.kind == qsa_disj::QsaDisjWitnessKind::WorstInstance);
  CHECK(one.worst_error.upper < Rational(1, 2 * q));
  // Every instance's error is the same function of |a ∩ b| and |a \ b|, so many tie: the tally
  // keeps the first in the order a·2^q + b, whatever the chunks.
  for (unsigned threads : {2u, 3u}) {
    INFO("threads = " << threads);
    const auto res = qsa_disj::run_qsa_disj(options(q, "exact", threads), model);
    CHECK(res.verdict == one.verdict);
    CHECK(res.witness.a == one.witness.a);
    CHECK(res.witness.b == one.witness.b);
    CHECK(res.worst_error.lower == one.worst_error.lower);
    CHECK(res.worst_error.upper == one.worst_error.upper);
    CHECK(res.fallback_instances == one.fallback_instances);
  }
}

TEST_CASE("match3-disj: the reduction sweep counts the disagreeing instances of a bad reduction", "[lower][sweep]") {
  // t = s = dummy = 0 at M = 8 is not a reduction: count its bad instances here, serially.
  const Match3DisjReduction bad{3, 8, 0, 0, 0};
  const std::uint64_t sets = 8;
  std::uint64_t expected = 0;
  std::pair<std::uint64_t, std::uint64_t> first{0, 0};
  for (std::uint64_t A = 0; A < sets; ++A)
    for (std::uint64_t B = 0; B < sets; ++B)
      if ((match3(match3_disj_layout(bad, A, B), bad.M)[0] != 0) != ((A & B) != 0))
        if (expected++ == 0) first = {A, B};
  REQUIRE(expected > 0);
  for (unsigned threads : {1u, 2u, 3u}) {
    INFO("threads = " << threads);
    std::pair<std::uint64_t, std::uint64_t> got{99, 99};
    CHECK(verify_match3_disj(bad, threads, &got) == expected);
    CHECK(got == first);
  }
  // The reduction the search finds verifies on every instance.
  const auto good = find_match3_disj_reduction(3, 2, 40);
  REQUIRE(good);
  CHECK(verify_match3_disj(*good, 3) == 0);
}

TEST_CASE("match3-disj: the protocol sweep gives the same result for 1, 2 and 3 threads", "[lower][sweep]") {
  Match3DisjOptions o;
  o.n = 4;
  o.model.H = 2;
  o.semantics = parse_semantics("tiled:float:4:2");
  const Match3DisjResult one = lower_match3_disj(o, 1);
  CHECK(one.reduction_verified);
  CHECK(one.protocol_mismatches == 0);
  for (unsigned threads : {2u, 3u}) {
    const Match3DisjResult r = lower_match3_disj(o, threads);
    CHECK(r.protocol_mismatches == 0);
    CHECK(r.distinct_messages == one.distinct_messages);
    CHECK(r.verdict == one.verdict);
    CHECK(r.collision.has_value() == one.collision.has_value());
    if (r.collision && one.collision) CHECK(r.collision->x1 == one.collision->x1);
  }
}

TEST_CASE("qsa-disj: chunk tallies with exact error bounds survive their text codec", "[lower][sweep]") {
  // Offset −(1/4 − 2^-60) at temperature 50: every instance's error is 1/4 − 2^-60 up to about
  // e^-50, below the bound by less than a double can resolve, so all 16 instances go to the
  // exact rung, which certifies them; the worst instance is chosen among exact rational bounds.
  const int q = 2;
  const SetAttentionModel model(2 * q + 1, 50, 1 / two_to(60) - Rational(1, 4));
  const auto plain = qsa_disj::run_qsa_disj(options(q, "exact", 2), model);
  CHECK(plain.fallback_instances == 16);
  CHECK(plain.undecided_instances == 0);
  REQUIRE(plain.verdict == Verdict::Holds);
  // The worst instance is not in the first chunk (a = 0), so a decoder that lost the exact
  // bounds (every chunk's worst tied) would report another instance.
  CHECK(plain.witness.a != 0);
  CHECK(plain.witness.kind == qsa_disj::QsaDisjWitnessKind::WorstInstance);
  CHECK(plain.worst_error.upper < Rational(1, 4));
  CHECK(plain.worst_error.lower > Rational(1, 4) - 1 / two_to(59));
  RecordThenReplay hooks;
  RunControl control;
  control.hooks = &hooks;
  RunControlScope scope(control);
  const auto recorded = qsa_disj::run_qsa_disj(options(q, "exact", 2), model);
  REQUIRE(hooks.payloads.size() == 4);  // one chunk per a
  for (const auto& [chunk, text] : hooks.payloads) CHECK(text.find('/') != std::string::npos);  // exact bounds
  hooks.replay = true;
  const auto replayed = qsa_disj::run_qsa_disj(options(q, "exact", 2), model);
  for (const auto* r : {&recorded, &replayed}) {
    CHECK(r->verdict == plain.verdict);
    CHECK(r->fallback_instances == plain.fallback_instances);
    CHECK(r->undecided_instances == plain.undecided_instances);
    CHECK(r->witness.kind == plain.witness.kind);
    CHECK(r->witness.a == plain.witness.a);
    CHECK(r->witness.b == plain.witness.b);
    CHECK(r->worst_error.upper == plain.worst_error.upper);
  }
}
