// The generic filtered sweep (core/filtered_sweep.hpp) on synthetic case sets whose answers are
// known in closed form: worst case per group, first failure, undecided cases, fallbacks, the
// precision ladder, and independence of the thread count.
#include <catch2/catch.hpp>

#include <atomic>
#include <vector>

#include "core/filtered_sweep.hpp"

using namespace attnbounds;

namespace {

struct SynthOutcome {
  double lo = 0, hi = 0;
  int grp = 0;
  mpfr_prec_t source = 0;  // 0: the fast evaluator; else the exact evaluator's bits
  CaseState state() const {
    if (hi < 0) return CaseState::Fails;
    return lo > 0 ? CaseState::Holds : CaseState::Open;
  }
  bool settled() const { return lo > 0 || hi < 0; }
  double rank() const { return lo; }
  int group() const { return grp; }
};

constexpr std::uint64_t kCases = 10000;
constexpr std::uint64_t kFailFirst = 1235, kFailWorst = 5000, kNeverSettles = 4244;

// The true room of case c: positive except at the two failing cases.
double room(std::uint64_t c) {
  if (c == kFailWorst) return -0.25;
  if (c == kFailFirst) return -0.125;
  return static_cast<double>((c * 7919) % 10007) / 10007.0 + 1e-4;
}
// The fast filter cannot decide every 7th case (and the never-settling one).
bool fast_undecided(std::uint64_t c) { return c % 7 == 0 || c == kNeverSettles; }
// The exact evaluator needs 512 bits on cases divisible by 21, 128 on the other filtered ones.
mpfr_prec_t bits_needed(std::uint64_t c) { return c % 21 == 0 ? 512 : 128; }

struct SynthProblem {
  using Case = std::uint64_t;
  using Outcome = SynthOutcome;
  static constexpr int groups = 2;
  std::atomic<int>* max_bits;
  std::uint64_t cases() const { return kCases; }
  unsigned outcomes_per_case() const { return 1; }
  template <class F>
  void enumerate(std::uint64_t begin, std::uint64_t end, F&& f) const {
    for (std::uint64_t c = begin; c < end; ++c) f(c, c);
  }
  void fast(const Case& c, Outcome* o) const {
    const double r = room(c);
    *o = fast_undecided(c) ? SynthOutcome{-1e9, 1e9, static_cast<int>(c % 2), 0}
                           : SynthOutcome{r - 1e-9, r + 1e-9, static_cast<int>(c % 2), 0};
  }
  void exact(const Case& c, mpfr_prec_t bits, Outcome* o) const {
    int seen = max_bits->load();
    while (bits > seen && !max_bits->compare_exchange_weak(seen, static_cast<int>(bits))) {
    }
    const double r = room(c);
    const bool tight = c != kNeverSettles && bits >= bits_needed(c);
    *o = tight ? SynthOutcome{r - 1e-12, r + 1e-12, static_cast<int>(c % 2), bits}
               : SynthOutcome{-1, 1, static_cast<int>(c % 2), bits};
  }
};

bool same(const std::optional<IndexedOutcome<SynthOutcome>>& a, const std::optional<IndexedOutcome<SynthOutcome>>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  return a->index == b->index && a->outcome.lo == b->outcome.lo && a->outcome.hi == b->outcome.hi &&
         a->outcome.source == b->outcome.source;
}

}  // namespace

TEST_CASE("filtered sweep: tally of a synthetic case set with known worst, failures and undecided", "[sweep]") {
  std::atomic<int> max_bits{0};
  const SynthProblem problem{&max_bits};
  const auto tally = filtered_sweep(problem, 1);

  // Independent serial computation of what the tally must say.
  std::uint64_t fallbacks = 0;
  std::uint64_t worst_idx[2] = {0, 0};
  double worst_room[2] = {1e9, 1e9};
  for (std::uint64_t c = 0; c < kCases; ++c) {
    fallbacks += fast_undecided(c);
    if (c == kNeverSettles) continue;  // its enclosure stays [-1, 1]
    const int g = static_cast<int>(c % 2);
    if (room(c) < worst_room[g]) { worst_room[g] = room(c); worst_idx[g] = c; }
  }
  CHECK(tally.cases == kCases);
  CHECK(tally.fallbacks == fallbacks);
  CHECK(tally.fallbacks == kCases / 7 + 1 + 1);  // multiples of 7 in 0..9999, plus 4244
  CHECK(tally.failures == 2);
  CHECK(tally.undecided == 1);
  REQUIRE(tally.first_failure.has_value());
  CHECK(tally.first_failure->index == kFailFirst);
  REQUIRE(tally.first_undecided.has_value());
  CHECK(tally.first_undecided->index == kNeverSettles);
  // 4244 is even and its open enclosure [-1, 1] has the smallest lower end of group 0.
  REQUIRE(tally.worst[0].has_value());
  CHECK(tally.worst[0]->index == kNeverSettles);
  REQUIRE(tally.worst[1].has_value());
  CHECK(tally.worst[1]->index == kFailFirst);
  CHECK(worst_idx[0] == kFailWorst);
  CHECK(worst_idx[1] == kFailFirst);
  REQUIRE(tally.overall_worst().has_value());
  CHECK(tally.overall_worst()->index == kNeverSettles);
  // The exact path ran, and climbed to 512 bits where 128 did not decide, and to the ceiling
  // on the case that never settles.
  CHECK(max_bits.load() == static_cast<int>(kLadderCeilingBits));
  // A case the filter decides keeps the fast outcome.
  CHECK(tally.first_failure->outcome.source == 0);
}

TEST_CASE("filtered sweep: the precision ladder settles filtered cases at the bits they need", "[sweep]") {
  std::atomic<int> max_bits{0};
  const SynthProblem problem{&max_bits};
  for (std::uint64_t c : {std::uint64_t{7}, std::uint64_t{21}, std::uint64_t{kNeverSettles}, std::uint64_t{8}}) {
    SynthOutcome o;
    bool fallback = false;
    settle_case(problem, c, &o, &fallback);
    CHECK(fallback == fast_undecided(c));
    if (c == kNeverSettles) {
      CHECK(o.state() == CaseState::Open);
      CHECK(o.source == kLadderCeilingBits);  // the last exact outcome is kept
    } else if (fast_undecided(c)) {
      CHECK(o.state() == CaseState::Holds);
      CHECK(o.source == bits_needed(c));
    } else {
      CHECK(o.source == 0);
    }
  }
  std::vector<mpfr_prec_t> ladder;
  CHECK_FALSE(raise_precision([&](mpfr_prec_t bits) { ladder.push_back(bits); return false; }));
  CHECK(ladder == std::vector<mpfr_prec_t>{128, 256, 512, 1024, 2048, 4096});
}

TEST_CASE("filtered sweep: identical tally for 1, 2 and 3 threads", "[sweep]") {
  std::atomic<int> max_bits{0};
  const SynthProblem problem{&max_bits};
  const auto t1 = filtered_sweep(problem, 1);
  for (unsigned threads : {2u, 3u}) {
    const auto t = filtered_sweep(problem, threads);
    CHECK(t.cases == t1.cases);
    CHECK(t.fallbacks == t1.fallbacks);
    CHECK(t.failures == t1.failures);
    CHECK(t.undecided == t1.undecided);
    CHECK(same(t.worst[0], t1.worst[0]));
    CHECK(same(t.worst[1], t1.worst[1]));
    CHECK(same(t.first_failure, t1.first_failure));
    CHECK(same(t.first_undecided, t1.first_undecided));
  }
}

namespace {
// Three outcomes per case; slot 1 is never decided by the filter.
struct WideProblem {
  using Case = std::uint64_t;
  using Outcome = SynthOutcome;
  static constexpr int groups = 1;
  std::uint64_t cases() const { return 50; }
  unsigned outcomes_per_case() const { return 3; }
  template <class F>
  void enumerate(std::uint64_t begin, std::uint64_t end, F&& f) const {
    for (std::uint64_t c = begin; c < end; ++c) f(c, c);
  }
  void fast(const Case& c, Outcome* o) const {
    for (int j = 0; j < 3; ++j) {
      const double r = static_cast<double>(c * 3 + j) + 1;
      o[j] = j == 1 ? SynthOutcome{-1, 1, 0, 0} : SynthOutcome{r, r, 0, 0};
    }
  }
  void exact(const Case& c, mpfr_prec_t bits, Outcome* o) const {
    for (int j = 0; j < 3; ++j) {
      const double r = static_cast<double>(c * 3 + j) + 1;
      o[j] = SynthOutcome{r, r, 0, bits};
    }
  }
};
}  // namespace

TEST_CASE("filtered sweep: several outcomes per case, indexed case * width + slot", "[sweep]") {
  const WideProblem problem;
  SynthOutcome out[3];
  bool fallback[3];
  settle_case(problem, std::uint64_t{4}, out, fallback);
  CHECK(out[0].source == 0);
  CHECK(out[1].source == kLadderStartBits);
  CHECK(out[2].source == 0);
  CHECK_FALSE(fallback[0]);
  CHECK(fallback[1]);
  const auto tally = filtered_sweep(problem, 2);
  CHECK(tally.cases == 150);
  CHECK(tally.fallbacks == 50);
  CHECK(tally.failures == 0);
  CHECK(tally.undecided == 0);
  REQUIRE(tally.worst[0].has_value());
  CHECK(tally.worst[0]->index == 0);  // room 1, the smallest
}

TEST_CASE("filtered sweep: the verdict is fails only for a re-verified witness", "[sweep]") {
  std::atomic<int> max_bits{0};
  const auto tally = filtered_sweep(SynthProblem{&max_bits}, 2);
  std::uint64_t asked = 0;
  CHECK(sweep_verdict_of(tally, kFailWorst, [&](std::uint64_t i) { asked = i; return true; }) == Verdict::Fails);
  CHECK(asked == kFailWorst);
  CHECK(sweep_verdict_of(tally, kFailWorst, [](std::uint64_t) { return false; }) == Verdict::Undecided);
  SweepTally<SynthOutcome, 2> clean;
  clean.fold(SynthOutcome{0.5, 0.6, 0, 0}, 0, false);
  bool called = false;
  CHECK(sweep_verdict_of(clean, 0, [&](std::uint64_t) { called = true; return true; }) == Verdict::Holds);
  CHECK_FALSE(called);
  clean.fold(SynthOutcome{-0.1, 0.6, 1, 0}, 1, true);
  CHECK(sweep_verdict_of(clean, 0, [](std::uint64_t) { return true; }) == Verdict::Undecided);
}

namespace {
// A problem with per-thread workers: the worker counts the cases it served, and exact checks that
// it follows fast on the same case (the contract that lets exact reuse fast's work).
struct WorkerProblem {
  struct Scratch {
    std::uint64_t last_fast = UINT64_MAX;
    std::vector<int> buffer = std::vector<int>(8);  // something a thread must own
  };
  using Case = std::uint64_t;
  using Worker = Scratch;
  static constexpr int groups = 2;
  std::atomic<int>* workers_made;
  std::atomic<int>* contract_broken;
  std::uint64_t cases() const { return 1000; }
  unsigned outcomes_per_case() const { return 1; }
  Worker make_worker() const {
    ++*workers_made;
    return {};
  }
  template <class F>
  void enumerate(std::uint64_t b, std::uint64_t e, F&& f) const {
    for (std::uint64_t c = b; c < e; ++c) f(c, c);
  }
  // Case c: value v = c mod 97; fails when v is 5 or 50; cases divisible by 7 need the exact rung.
  struct Outcome {
    CaseState st = CaseState::Open;
    double v = 0;
    int grp = 0;
    CaseState state() const { return st; }
    bool settled() const { return st != CaseState::Open; }
    double rank() const { return v; }
    int group() const { return grp; }
  };
  static Outcome outcome_of(std::uint64_t c, bool exact) {
    const bool fails = c % 97 == 5 || c % 97 == 50;
    Outcome o;
    o.st = (c % 7 == 0 && !exact) ? CaseState::Open : fails ? CaseState::Fails : CaseState::Holds;
    o.v = static_cast<double>(c % 97);
    o.grp = c % 97 == 50 ? 1 : 0;
    return o;
  }
  void fast(Worker& w, const Case& c, Outcome* out) const {
    w.last_fast = c;
    *out = outcome_of(c, false);
  }
  void exact(Worker& w, const Case& c, mpfr_prec_t, Outcome* out) const {
    if (w.last_fast != c) ++*contract_broken;
    *out = outcome_of(c, true);
  }
};
}  // namespace

TEST_CASE("filtered sweep: per-thread workers, exact after fast on the same worker, failures per group", "[sweep]") {
  for (unsigned threads : {1u, 2u, 3u}) {
    std::atomic<int> made{0}, broken{0};
    const WorkerProblem problem{&made, &broken};
    const auto t = filtered_sweep(problem, threads);
    CHECK(broken.load() == 0);
    CHECK(made.load() >= 1);
    CHECK(t.cases == 1000);
    // Cases divisible by 7: 143 of 0..999.
    CHECK(t.fallbacks == 143);
    CHECK(t.undecided == 0);
    // v = 5 at c = 5, 102, ..., 973 (11 cases); v = 50 at c = 50, 147, ..., 922 (10 cases).
    CHECK(t.group_failures[0] == 11);
    CHECK(t.group_failures[1] == 10);
    CHECK(t.failures == 21);
    REQUIRE(t.group_first_failure[0]);
    REQUIRE(t.group_first_failure[1]);
    CHECK(t.group_first_failure[0]->index == 5);
    CHECK(t.group_first_failure[1]->index == 50);
    REQUIRE(t.first_failure);
    CHECK(t.first_failure->index == 5);
    // Smallest rank per group: v = 0 at c = 0 (group 0); group 1 only has v = 50 (first: c = 50).
    REQUIRE(t.worst[0]);
    CHECK(t.worst[0]->index == 0);
    REQUIRE(t.worst[1]);
    CHECK(t.worst[1]->index == 50);
  }
}

namespace {

// Outcomes ordered by tighter_than alone: they have no rank() (a double could not order them,
// as with Theorem 4's exact rational error bounds).
struct ExactOrderOutcome {
  std::uint64_t numerator = 0;
  CaseState state() const { return CaseState::Holds; }
  bool settled() const { return true; }
  int group() const { return 0; }
  bool tighter_than(const ExactOrderOutcome& o) const { return numerator > o.numerator; }
};

struct ExactOrderProblem {
  using Case = std::uint64_t;
  using Outcome = ExactOrderOutcome;
  static constexpr int groups = 1;
  std::uint64_t cases() const { return 5000; }
  unsigned outcomes_per_case() const { return 1; }
  template <class F>
  void enumerate(std::uint64_t begin, std::uint64_t end, F&& f) const {
    for (std::uint64_t c = begin; c < end; ++c) f(c, c);
  }
  // Largest numerator 4: first at case 1234, again at 3001 (a tie, so 1234 is kept).
  void exact(const Case& c, mpfr_prec_t, Outcome* o) const { o->numerator = c == 1234 || c == 3001 ? 4 : c % 4; }
  void fast(const Case& c, Outcome* o) const { exact(c, kLadderStartBits, o); }
};

}  // namespace

TEST_CASE("filtered sweep: outcomes with tighter_than are ordered by it, ties to the first", "[sweep]") {
  for (unsigned threads : {1u, 2u, 3u}) {
    INFO("threads = " << threads);
    const auto tally = filtered_sweep(ExactOrderProblem{}, threads);
    REQUIRE(tally.worst[0]);
    CHECK(tally.worst[0]->index == 1234);
    CHECK(tally.worst[0]->outcome.numerator == 4);
    CHECK(tally.overall_worst()->index == 1234);
    CHECK(tally.fallbacks == 0);
  }
}
