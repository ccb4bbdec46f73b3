// Exact two-party communication complexity of small Boolean matrices (math §3.3, §5.5).
//
// Rows are Alice's inputs, columns Bob's.  Everything here is exact: D(f) comes from a complete
// search over protocol trees (not a heuristic), ranks from exact elimination.  Matrices are at
// most kMaxSide × kMaxSide; the search works on 64-bit masks up to 64 × 64 and on 256-bit sets above.
#pragma once
#include "enumerate/progress.hpp"
#include <array>
#include <bit>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace attnbounds::cc {

constexpr int kMaxSide = 256;

// A set of indices below 64·W (rows or columns of a matrix), as W 64-bit words.
template <int W>
struct WordSet {
  std::array<std::uint64_t, W> w{};

  static WordSet first_n(int n) {
    WordSet s;
    for (int i = 0; i < W && n > 0; ++i, n -= 64) s.w[i] = n >= 64 ? ~std::uint64_t{0} : ((std::uint64_t{1} << n) - 1);
    return s;
  }
  static WordSet single(int i) {
    WordSet s;
    s.set(i);
    return s;
  }
  void set(int i) { w[i >> 6] |= std::uint64_t{1} << (i & 63); }
  void reset(int i) { w[i >> 6] &= ~(std::uint64_t{1} << (i & 63)); }
  bool test(int i) const { return (w[i >> 6] >> (i & 63)) & 1U; }
  int count() const {
    int c = 0;
    for (auto x : w) c += std::popcount(x);
    return c;
  }
  bool empty() const {
    for (auto x : w)
      if (x) return false;
    return true;
  }
  int first() const {  // lowest member, -1 when empty
    for (int i = 0; i < W; ++i)
      if (w[i]) return i * 64 + std::countr_zero(w[i]);
    return -1;
  }
  template <class F>
  void for_each(F&& f) const {
    for (int i = 0; i < W; ++i)
      for (std::uint64_t x = w[i]; x; x &= x - 1) f(i * 64 + std::countr_zero(x));
  }
  // The next subset of `universe` after this one in counting order (this ⊆ universe); wraps to ∅.
  WordSet next_subset_of(const WordSet& universe) const {
    WordSet s;
    bool carry = true;
    for (int i = 0; i < W; ++i) {
      std::uint64_t x = w[i] | ~universe.w[i];
      if (carry) {
        ++x;
        carry = x == 0;
      }
      s.w[i] = x & universe.w[i];
    }
    return s;
  }
  friend WordSet operator&(WordSet a, const WordSet& b) {
    for (int i = 0; i < W; ++i) a.w[i] &= b.w[i];
    return a;
  }
  friend WordSet operator|(WordSet a, const WordSet& b) {
    for (int i = 0; i < W; ++i) a.w[i] |= b.w[i];
    return a;
  }
  friend WordSet operator^(WordSet a, const WordSet& b) {
    for (int i = 0; i < W; ++i) a.w[i] ^= b.w[i];
    return a;
  }
  WordSet minus(const WordSet& b) const {
    WordSet a = *this;
    for (int i = 0; i < W; ++i) a.w[i] &= ~b.w[i];
    return a;
  }
  bool intersects(const WordSet& b) const {
    for (int i = 0; i < W; ++i)
      if (w[i] & b.w[i]) return true;
    return false;
  }
  friend bool operator==(const WordSet& a, const WordSet& b) { return a.w == b.w; }
  friend bool operator!=(const WordSet& a, const WordSet& b) { return a.w != b.w; }
  friend bool operator<(const WordSet& a, const WordSet& b) { return a.w < b.w; }
};

// Rows or columns of a matrix up to kMaxSide.
using IndexSet = WordSet<kMaxSide / 64>;

struct BoolMatrix {
  int rows = 0, cols = 0;
  std::vector<IndexSet> row_bits;  // row_bits[x].test(y) = M[x][y]
  std::vector<std::string> row_labels, col_labels;  // optional (named functions)

  bool at(int x, int y) const { return row_bits[x].test(y); }
  void set(int x, int y) { row_bits[x].set(y); }
  std::vector<IndexSet> col_bits() const;  // col_bits()[y].test(x) = M[x][y]
};

// Named functions.  disj/eq/ip: rows and columns are a, b ∈ {0,1}^n as masks (bit i = element i+1).
// index: rows b ∈ {0,1}^n, columns k ∈ [n].  n in 1..kMaxNamedN (2^n ≤ kMaxSide); throws
// ConfigError("n") otherwise.
constexpr int kMaxNamedN = 8;
BoolMatrix make_disj(int n);
BoolMatrix make_eq(int n);
BoolMatrix make_index(int n);
BoolMatrix make_ip(int n);
// Parses rows of 0/1 characters (spaces ignored; blank lines and '#' comments skipped).
// Throws ConfigError("matrix") naming the line for ragged rows, bad characters, or size.
BoolMatrix parse_matrix(const std::string& text);
BoolMatrix read_matrix_file(const std::string& path);

int rank_rational(const BoolMatrix& M);  // exact over Q (GMP)
int rank_rational(const BoolMatrix& M, Progress* progress);  // advances progress once per pivot
int rank_gf2(const BoolMatrix& M);
int distinct_rows(const BoolMatrix& M);
int distinct_cols(const BoolMatrix& M);
// ceil(log2 k) for k >= 1.
int ceil_log2(std::uint64_t k);

// A fooling set of colour z: entries (x_i, y_i) with M = z, and for i != j
// M[x_i][y_j] != z or M[x_j][y_i] != z.  Maximum by branch and bound (max clique); `optimal`
// is false only if the node budget ran out.
struct FoolingSet {
  int colour = 1;
  std::vector<std::pair<int, int>> pairs;  // 0-based (row, col)
  bool optimal = true;
};
FoolingSet max_fooling_set(const BoolMatrix& M, int colour, std::uint64_t node_budget = 20'000'000);
// True iff `pairs` is a fooling set of colour z of M (independent check).
bool is_fooling_set(const BoolMatrix& M, int colour, const std::vector<std::pair<int, int>>& pairs);

// A protocol tree.  Internal node: `speaker` 'A' (Alice splits the rows) or 'B' (columns);
// child[0] gets `part0` (the rows/cols sent as bit 0), child[1] the rest.  Leaf: colour.
struct ProtocolNode {
  IndexSet rows, cols;
  char speaker = 0;  // 0 for a leaf
  int colour = -1;   // leaf colour
  std::vector<ProtocolNode> child;  // 0 or 2 entries
  int depth() const;
};
// Checks the tree independently: children partition the parent by the speaker's side, leaves
// are monochromatic of their colour, the root covers the whole matrix.
bool verify_protocol(const BoolMatrix& M, const ProtocolNode& root, std::string* why = nullptr);

struct CcResult {
  std::optional<int> D;         // exact deterministic complexity (nullopt: budget exhausted)
  int D_lower = 0, D_upper = 0; // proven bounds (equal to D when exact)
  int rank_Q = 0, rank_GF2 = 0, rank_Q_complement = 0;
  int log_rank_bound = 0;       // ceil(log2(rank_Q(M) + rank_Q(J−M))): leaves ≥ #1-rects + #0-rects
  FoolingSet fooling, fooling_other;  // the larger one first
  int fooling_bound = 0;        // ceil(log2(|F1| + |F0|))
  int one_way_alice = 0, one_way_bob = 0;
  std::optional<ProtocolNode> protocol;
  std::uint64_t search_nodes = 0;    // rectangles expanded by the search (decide() calls past the bounds)
};

struct CcOptions {
  std::uint64_t node_budget = 200'000'000;   // decide() calls before giving up (-> undecided)
  std::uint64_t fooling_budget = 1'000'000; // clique search nodes per colour
  // false: no lower-bound pruning and no trivial-protocol shortcut (plain exhaustive search;
  // used by the tests to exercise the search itself).
  bool prune = true;
};

CcResult analyse(const BoolMatrix& M, const CcOptions& opts = {});

}  // namespace attnbounds::cc
