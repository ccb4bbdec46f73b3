#include "cc/cc.hpp"

#include <optional>

#include "enumerate/progress.hpp"
#include "enumerate/run_control.hpp"

#include <fmt/format.h>
#include <gmpxx.h>

#include <algorithm>
#include <bit>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>
#include "core/input_file.hpp"

#include "core/config_error.hpp"

namespace attnbounds::cc {

namespace {

void require_fits(int rows, int cols, const std::string& what) {
  if (rows < 1 || cols < 1 || rows > kMaxSide || cols > kMaxSide)
    throw ConfigError(what, fmt::format("the matrix is {}x{}; rows and columns must be in 1..{}", rows, cols, kMaxSide));
}

std::string bits_label(std::uint64_t v, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += ((v >> i) & 1U) ? '1' : '0';
  return s;
}

template <class F>
BoolMatrix make_square(int n, const std::string& name, F&& f) {
  if (n < 1 || n > kMaxNamedN)
    throw ConfigError("n", fmt::format("{} needs n in 1..{} (a 2^n x 2^n matrix, at most {} per side; got {})", name,
                                       kMaxNamedN, kMaxSide, n));
  BoolMatrix M;
  M.rows = M.cols = 1 << n;
  M.row_bits.assign(M.rows, IndexSet{});
  for (int a = 0; a < M.rows; ++a) {
    for (int b = 0; b < M.cols; ++b)
      if (f(static_cast<std::uint64_t>(a), static_cast<std::uint64_t>(b))) M.set(a, b);
    M.row_labels.push_back(bits_label(a, n));
    M.col_labels.push_back(bits_label(a, n));
  }
  return M;
}

// Rank of a dense 0/1 matrix modulo the prime 2^31 − 1: a lower bound for the rank over Q and,
// like it, a lower bound on the number of monochromatic 1-rectangles in any partition.
int rank_mod_p(std::vector<std::vector<std::uint64_t>> a) {
  constexpr std::uint64_t p = 2147483647ULL;
  auto pow_mod = [](std::uint64_t b, std::uint64_t e) {
    std::uint64_t r = 1;
    b %= p;
    while (e) {
      if (e & 1U) r = r * b % p;
      b = b * b % p;
      e >>= 1;
    }
    return r;
  };
  const std::size_t R = a.size(), C = R ? a[0].size() : 0;
  int rank = 0;
  for (std::size_t c = 0; c < C && static_cast<std::size_t>(rank) < R; ++c) {
    std::size_t piv = rank;
    while (piv < R && a[piv][c] == 0) ++piv;
    if (piv == R) continue;
    std::swap(a[piv], a[rank]);
    const std::uint64_t inv = pow_mod(a[rank][c], p - 2);
    for (std::size_t r = rank + 1; r < R; ++r) {
      if (a[r][c] == 0) continue;
      const std::uint64_t factor = a[r][c] * inv % p;
      for (std::size_t k = c; k < C; ++k) a[r][k] = (a[r][k] + (p - factor) * a[rank][k]) % p;
    }
    ++rank;
  }
  return rank;
}

template <int W>
WordSet<W> narrow(const IndexSet& s) {
  WordSet<W> out;
  for (int i = 0; i < W; ++i) out.w[i] = s.w[i];
  return out;
}
template <int W>
IndexSet widen(const WordSet<W>& s) {
  IndexSet out;
  for (int i = 0; i < W; ++i) out.w[i] = s.w[i];
  return out;
}

// Search state for the exact D(f).
template <int W>
struct Entry {
  int lo = 0, hi = 0;  // proven bounds on D of this (canonical) rectangle
  char side = 0;       // split achieving hi: 'A' rows, 'B' columns
  WordSet<W> part0;
};

template <int W>
struct KeyHash {
  std::size_t operator()(const std::pair<WordSet<W>, WordSet<W>>& k) const {
    std::uint64_t h = 0x632BE59BD9B4E019ULL;
    for (int i = 0; i < W; ++i) {
      h = (h ^ k.first.w[i]) * 0x9E3779B97F4A7C15ULL;
      h = (h ^ k.second.w[i]) * 0xC2B2AE3D27D4EB4FULL;
    }
    return static_cast<std::size_t>(h ^ (h >> 29));
  }
};

struct BudgetExceeded {};
// Above this many candidate entries the fooling-set graph (n² bits) is not built.
constexpr std::size_t kMaxCliqueVertices = 4096;
constexpr int kNoUpper = 1 << 20;

// The exact search on sets of W words (W = 1 up to 64 × 64, W = 4 up to 256 × 256).
template <int W>
class Searcher {
 public:
  using Set = WordSet<W>;
  Searcher(const BoolMatrix& M, std::uint64_t budget, bool prune) : M_(M), budget_(budget), prune_(prune) {
    for (const auto& r : M.row_bits) rowbits_.push_back(narrow<W>(r));
    for (const auto& c : M.col_bits()) colbits_.push_back(narrow<W>(c));
  }

  // Removes duplicate rows and columns (an optimal protocol never separates identical rows).
  std::pair<Set, Set> canonical(const Set& rows, const Set& cols) const {
    Set crow, ccol;
    std::vector<Set> seen;
    rows.for_each([&](int x) {
      const Set pat = rowbits_[x] & cols;
      if (std::find(seen.begin(), seen.end(), pat) == seen.end()) {
        seen.push_back(pat);
        crow.set(x);
      }
    });
    seen.clear();
    cols.for_each([&](int y) {
      const Set pat = colbits_[y] & crow;
      if (std::find(seen.begin(), seen.end(), pat) == seen.end()) {
        seen.push_back(pat);
        ccol.set(y);
      }
    });
    return {crow, ccol};
  }

  // The representative (lowest index with the same pattern) of row x within (rows, cols).
  int row_rep(int x, const Set& rows, const Set& cols) const {
    const Set pat = rowbits_[x] & cols;
    int rep = x;
    bool found = false;
    rows.for_each([&](int z) {
      if (!found && (rowbits_[z] & cols) == pat) {
        rep = z;
        found = true;
      }
    });
    return rep;
  }
  int col_rep(int y, const Set& rows, const Set& cols) const {
    const Set pat = colbits_[y] & rows;
    int rep = y;
    bool found = false;
    cols.for_each([&](int z) {
      if (!found && (colbits_[z] & rows) == pat) {
        rep = z;
        found = true;
      }
    });
    return rep;
  }

  // A protocol of depth D partitions the rectangle into at most 2^D monochromatic rectangles;
  // a 1-rectangle has rank 1, so at least rank(M) of them are 1-rectangles, and at least
  // rank(J − M) are 0-rectangles (ranks mod p are at most the ranks over Q).
  int lower_bound(const Set& rows, const Set& cols) const {
    std::vector<std::vector<std::uint64_t>> a, b;
    rows.for_each([&](int x) {
      std::vector<std::uint64_t> ra, rb;
      cols.for_each([&](int y) {
        ra.push_back(M_.at(x, y));
        rb.push_back(1 - M_.at(x, y));
      });
      a.push_back(std::move(ra));
      b.push_back(std::move(rb));
    });
    const int leaves = rank_mod_p(std::move(a)) + rank_mod_p(std::move(b));
    return ceil_log2(static_cast<std::uint64_t>(std::max(leaves, 1)));
  }

  // Trivial protocol: one side names its class, the other answers (or a single value split).
  void trivial(const Set& rows, const Set& cols, Entry<W>& e) const {
    const int kr = rows.count(), kc = cols.count();
    if (kr == 1 || kc == 1) {
      e.hi = 1;
      if (kr == 1) {  // Bob announces the value
        e.side = 'B';
        e.part0 = cols.minus(rowbits_[rows.first()]);
      } else {
        e.side = 'A';
        e.part0 = rows.minus(colbits_[cols.first()]);
      }
      return;
    }
    const int ua = ceil_log2(kr) + 1, ub = ceil_log2(kc) + 1;
    const bool alice = ua <= ub;
    const Set& set = alice ? rows : cols;
    int half = (set.count() + 1) / 2;
    Set part;
    set.for_each([&](int i) {
      if (half > 0) {
        part.set(i);
        --half;
      }
    });
    e.hi = alice ? ua : ub;
    e.side = alice ? 'A' : 'B';
    e.part0 = part;
  }

  Entry<W>& entry(const Set& rows, const Set& cols) {
    auto [it, inserted] = memo_.try_emplace({rows, cols});
    if (inserted && prune_) {
      trivial(rows, cols, it->second);
      it->second.lo = std::min(lower_bound(rows, cols), it->second.hi);
    } else if (inserted) {
      it->second.lo = 1;
      it->second.hi = kNoUpper;
    }
    return it->second;
  }

  // Is D(rows × cols) ≤ d?  Records the split achieving it.
  bool decide(const Set& rows0, const Set& cols0, int d) {
    auto [rows, cols] = canonical(rows0, cols0);
    if (rows.count() == 1 && cols.count() == 1) return true;  // monochromatic
    if (d <= 0) return false;
    Entry<W>& e = entry(rows, cols);
    if (e.hi <= d) return true;
    if (e.lo > d) return false;
    if (++nodes_ > budget_) throw BudgetExceeded{};
    for (char side : {'A', 'B'}) {
      const Set set = side == 'A' ? rows : cols;
      if (set.count() < 2) continue;
      const Set low = Set::single(set.first()), rest = set ^ low;
      // part0 = low ∪ s for every proper subset s of rest (each unordered split once).
      for (Set s;; s = s.next_subset_of(rest)) {
        if (s != rest) {
          const Set p0 = low | s, p1 = set ^ p0;
          bool ok = side == 'A' ? decide(p0, cols, d - 1) && decide(p1, cols, d - 1)
                                : decide(rows, p0, d - 1) && decide(rows, p1, d - 1);
          if (ok) {
            e.hi = d;  // unordered_map references survive rehashing
            e.side = side;
            e.part0 = p0;
            return true;
          }
        }
        if (s == rest) break;
      }
    }
    e.lo = d + 1;
    return false;
  }

  // Builds the tree from the recorded splits, on full (non-canonical) row and column sets.
  ProtocolNode build(const Set& rows, const Set& cols) {
    ProtocolNode node;
    node.rows = widen(rows);
    node.cols = widen(cols);
    // Named references, not a structured binding: the lambdas below capture them, which clang
    // before 16 rejects for bindings.
    const std::pair<Set, Set> canon = canonical(rows, cols);
    const Set& crow = canon.first;
    const Set& ccol = canon.second;
    if (crow.count() == 1 && ccol.count() == 1) {
      node.colour = M_.at(crow.first(), ccol.first());
      return node;
    }
    const Entry<W> e = entry(crow, ccol);
    node.speaker = e.side;
    Set p0;
    if (e.side == 'A') {
      rows.for_each([&](int x) {
        if (e.part0.test(row_rep(x, crow, ccol))) p0.set(x);
      });
      node.child.push_back(build(p0, cols));
      node.child.push_back(build(rows ^ p0, cols));
    } else {
      cols.for_each([&](int y) {
        if (e.part0.test(col_rep(y, crow, ccol))) p0.set(y);
      });
      node.child.push_back(build(rows, p0));
      node.child.push_back(build(rows, cols ^ p0));
    }
    return node;
  }

  std::uint64_t nodes() const { return nodes_; }

 private:
  const BoolMatrix& M_;
  std::vector<Set> rowbits_, colbits_;
  std::uint64_t budget_;
  bool prune_;
  std::uint64_t nodes_ = 0;
  std::unordered_map<std::pair<Set, Set>, Entry<W>, KeyHash<W>> memo_;
};

// Maximum clique by branch and bound with greedy colouring bounds (Tomita-style).
class CliqueSearch {
 public:
  CliqueSearch(std::vector<std::vector<std::uint64_t>> adj, int cap, std::uint64_t budget)
      : adj_(std::move(adj)), n_(static_cast<int>(adj_.size())), words_((n_ + 63) / 64), cap_(cap), budget_(budget) {}

  std::vector<int> run(bool& optimal) {
    std::vector<std::uint64_t> all(words_, 0);
    for (int v = 0; v < n_; ++v) all[v / 64] |= std::uint64_t{1} << (v % 64);
    std::vector<int> current;
    try {
      expand(all, current);
      optimal = true;
    } catch (const BudgetExceeded&) {
      optimal = static_cast<int>(best_.size()) >= cap_;
    }
    return best_;
  }

 private:
  void expand(std::vector<std::uint64_t> cand, std::vector<int>& current) {
    if (static_cast<int>(best_.size()) >= cap_) return;
    if (++nodes_ > budget_) throw BudgetExceeded{};
    // Greedy colouring of the candidates: order and colour bounds.
    std::vector<int> order, colour;
    std::vector<std::uint64_t> uncoloured = cand;
    int k = 0;
    while (std::any_of(uncoloured.begin(), uncoloured.end(), [](std::uint64_t w) { return w != 0; })) {
      ++k;
      std::vector<std::uint64_t> q = uncoloured;
      for (int w = 0; w < words_; ++w) {
        while (q[w]) {
          int v = w * 64 + std::countr_zero(q[w]);
          q[w] &= q[w] - 1;
          uncoloured[w] &= ~(std::uint64_t{1} << (v % 64));
          for (int u = 0; u < words_; ++u) q[u] &= ~adj_[v][u];
          order.push_back(v);
          colour.push_back(k);
        }
      }
    }
    for (int i = static_cast<int>(order.size()) - 1; i >= 0; --i) {
      if (static_cast<int>(current.size()) + colour[i] <= static_cast<int>(best_.size())) return;
      const int v = order[i];
      current.push_back(v);
      std::vector<std::uint64_t> next(words_);
      bool empty = true;
      for (int u = 0; u < words_; ++u) {
        next[u] = cand[u] & adj_[v][u];
        empty = empty && next[u] == 0;
      }
      if (empty) {
        if (current.size() > best_.size()) best_ = current;
      } else {
        expand(std::move(next), current);
      }
      current.pop_back();
      cand[v / 64] &= ~(std::uint64_t{1} << (v % 64));
      if (static_cast<int>(best_.size()) >= cap_) return;
    }
  }

  std::vector<std::vector<std::uint64_t>> adj_;
  int n_, words_, cap_;
  std::uint64_t budget_, nodes_ = 0;
  std::vector<int> best_;
};

// D by iterative deepening from the proven lower bound; fills D, the bounds, the verified protocol.
template <int W>
void search_exact(const BoolMatrix& M, const CcOptions& opts, CcResult& res) {
  using Set = WordSet<W>;
  Searcher<W> s(M, opts.node_budget, opts.prune);
  const Set rows = Set::first_n(M.rows), cols = Set::first_n(M.cols);
  auto [crow, ccol] = s.canonical(rows, cols);
  if (crow.count() == 1 && ccol.count() == 1) {
    res.D = 0;
  } else {
    Entry<W>& root = s.entry(crow, ccol);
    res.D_lower = std::max({root.lo, res.fooling_bound});
    res.D_upper = root.hi;
    if (!opts.prune) {
      res.D_lower = 1;
      res.D_upper = M.rows + M.cols;  // any finite cap: Alice can always send her row index
    }
    try {
      int d = res.D_lower;
      while (d < res.D_upper && !s.decide(rows, cols, d)) ++d;
      res.D = d;
    } catch (const BudgetExceeded&) {
      res.D_lower = std::max(res.D_lower, s.entry(crow, ccol).lo);
    }
  }
  if (res.D) {
    res.D_lower = res.D_upper = *res.D;
    res.protocol = s.build(rows, cols);
    if (res.protocol->depth() != *res.D) throw std::logic_error("cc: protocol depth differs from D");
    std::string why;
    if (!verify_protocol(M, *res.protocol, &why)) throw std::logic_error("cc: protocol check failed: " + why);
  }
  res.search_nodes = s.nodes();
}

}  // namespace

std::vector<IndexSet> BoolMatrix::col_bits() const {
  std::vector<IndexSet> out(cols);
  for (int x = 0; x < rows; ++x) row_bits[x].for_each([&](int y) { out[y].set(x); });
  return out;
}

int ceil_log2(std::uint64_t k) {
  int b = 0;
  while ((std::uint64_t{1} << b) < k) ++b;
  return b;
}

BoolMatrix make_disj(int n) { return make_square(n, "disj", [](auto a, auto b) { return (a & b) == 0; }); }
BoolMatrix make_eq(int n) { return make_square(n, "eq", [](auto a, auto b) { return a == b; }); }
BoolMatrix make_ip(int n) {
  return make_square(n, "ip", [](auto a, auto b) { return (std::popcount(a & b) & 1) == 1; });
}
BoolMatrix make_index(int n) {
  if (n < 1 || n > kMaxNamedN)
    throw ConfigError("n", fmt::format("index needs n in 1..{} (2^n rows, at most {}; got {})", kMaxNamedN, kMaxSide, n));
  BoolMatrix M;
  M.rows = 1 << n;
  M.cols = n;
  M.row_bits.assign(M.rows, IndexSet{});
  for (int b = 0; b < M.rows; ++b) {
    M.row_bits[b].w[0] = static_cast<std::uint64_t>(b);  // INDEX(b, k) = b_k
    M.row_labels.push_back(bits_label(b, n));
  }
  for (int k = 0; k < n; ++k) M.col_labels.push_back(std::to_string(k + 1));
  return M;
}

BoolMatrix parse_matrix(const std::string& text) {
  BoolMatrix M;
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    IndexSet bits;
    int width = 0;
    for (char ch : line) {
      if (ch == '#') break;
      if (ch == ' ' || ch == '\t' || ch == '\r' || ch == ',') continue;
      if (ch != '0' && ch != '1')
        throw ConfigError("matrix", fmt::format("line {}: entry '{}' is not 0 or 1", lineno, ch));
      if (width >= kMaxSide)
        throw ConfigError("matrix", fmt::format("line {}: more than {} columns (the limit)", lineno, kMaxSide));
      if (ch == '1') bits.set(width);
      ++width;
    }
    if (width == 0) continue;
    if (M.rows == 0) M.cols = width;
    else if (width != M.cols)
      throw ConfigError("matrix", fmt::format("line {}: ragged rows ({} entries, the first row has {})",
                                              lineno, width, M.cols));
    if (M.rows >= kMaxSide)
      throw ConfigError("matrix", fmt::format("more than {} rows (the limit)", kMaxSide));
    M.row_bits.push_back(bits);
    ++M.rows;
  }
  if (M.rows == 0) throw ConfigError("matrix", "no rows (expected lines of 0/1 entries)");
  require_fits(M.rows, M.cols, "matrix");
  return M;
}

BoolMatrix read_matrix_file(const std::string& path) {
  std::string text;
  try {
    text = read_bounded_file(path, kMaxTextInputBytes);
  } catch (const std::invalid_argument& e) {
    throw ConfigError("matrix", std::string("cannot open: ") + e.what());
  }
  return parse_matrix(text);
}

int rank_rational(const BoolMatrix& M) { return rank_rational(M, nullptr); }

int rank_rational(const BoolMatrix& M, Progress* progress) {
  std::vector<std::vector<mpq_class>> a(M.rows, std::vector<mpq_class>(M.cols));
  for (int x = 0; x < M.rows; ++x)
    for (int y = 0; y < M.cols; ++y) a[x][y] = M.at(x, y) ? 1 : 0;
  int rank = 0;
  for (int c = 0; c < M.cols && rank < M.rows; ++c) {
    int piv = rank;
    while (piv < M.rows && a[piv][c] == 0) ++piv;
    if (piv == M.rows) continue;
    std::swap(a[piv], a[rank]);
    for (int r = rank + 1; r < M.rows; ++r) {
      if (a[r][c] == 0) continue;
      mpq_class f = a[r][c] / a[rank][c];
      for (int k = c; k < M.cols; ++k) a[r][k] -= f * a[rank][k];
    }
    ++rank;
    if (progress) progress->advance(1);
  }
  return rank;
}

int rank_gf2(const BoolMatrix& M) {
  std::vector<IndexSet> rows = M.row_bits;
  int rank = 0;
  for (int c = 0; c < M.cols; ++c) {
    auto it = std::find_if(rows.begin() + rank, rows.end(), [&](const IndexSet& r) { return r.test(c); });
    if (it == rows.end()) continue;
    std::swap(*it, rows[rank]);
    for (std::size_t r = 0; r < rows.size(); ++r)
      if (static_cast<int>(r) != rank && rows[r].test(c)) rows[r] = rows[r] ^ rows[rank];
    ++rank;
  }
  return rank;
}

int distinct_rows(const BoolMatrix& M) {
  return static_cast<int>(std::set<IndexSet>(M.row_bits.begin(), M.row_bits.end()).size());
}
int distinct_cols(const BoolMatrix& M) {
  auto c = M.col_bits();
  return static_cast<int>(std::set<IndexSet>(c.begin(), c.end()).size());
}

bool is_fooling_set(const BoolMatrix& M, int colour, const std::vector<std::pair<int, int>>& pairs) {
  for (auto [x, y] : pairs)
    if (M.at(x, y) != colour) return false;
  for (std::size_t i = 0; i < pairs.size(); ++i)
    for (std::size_t j = i + 1; j < pairs.size(); ++j) {
      auto [x1, y1] = pairs[i];
      auto [x2, y2] = pairs[j];
      if (M.at(x1, y2) == colour && M.at(x2, y1) == colour) return false;
    }
  return true;
}

FoolingSet max_fooling_set(const BoolMatrix& M, int colour, std::uint64_t node_budget) {
  // Distinct representatives suffice: two pairs in one row (or column) never fool each other.
  std::vector<int> rows, cols;
  {
    std::set<IndexSet> seen;
    for (int x = 0; x < M.rows; ++x)
      if (seen.insert(M.row_bits[x]).second) rows.push_back(x);
    auto cb = M.col_bits();
    seen.clear();
    for (int y = 0; y < M.cols; ++y)
      if (seen.insert(cb[y]).second) cols.push_back(y);
  }
  std::vector<std::pair<int, int>> verts;
  for (int x : rows)
    for (int y : cols)
      if (M.at(x, y) == colour) verts.emplace_back(x, y);
  FoolingSet out;
  out.colour = colour;
  if (verts.empty()) return out;
  if (verts.size() > kMaxCliqueVertices) {
    // The compatibility graph would not fit in memory: a greedy fooling set is still a valid
    // lower bound, but not proven maximum.
    for (auto [x, y] : verts) {
      bool ok = true;
      for (auto [u, v] : out.pairs)
        if (u == x || v == y || (M.at(x, v) == colour && M.at(u, y) == colour)) {
          ok = false;
          break;
        }
      if (ok) out.pairs.push_back({x, y});
    }
    out.optimal = false;
    std::sort(out.pairs.begin(), out.pairs.end());
    return out;
  }
  const int n = static_cast<int>(verts.size()), words = (n + 63) / 64;
  // Vertex order: by decreasing degree (helps the colouring bound).
  std::vector<std::vector<bool>> compat(n, std::vector<bool>(n, false));
  std::vector<int> degree(n, 0);
  for (int i = 0; i < n; ++i)
    for (int j = i + 1; j < n; ++j) {
      auto [x1, y1] = verts[i];
      auto [x2, y2] = verts[j];
      bool ok = x1 != x2 && y1 != y2 && !(M.at(x1, y2) == colour && M.at(x2, y1) == colour);
      if (ok) {
        compat[i][j] = compat[j][i] = true;
        ++degree[i];
        ++degree[j];
      }
    }
  std::vector<int> perm(n);
  for (int i = 0; i < n; ++i) perm[i] = i;
  std::stable_sort(perm.begin(), perm.end(), [&](int a, int b) { return degree[a] > degree[b]; });
  std::vector<std::vector<std::uint64_t>> adj(n, std::vector<std::uint64_t>(words, 0));
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      if (compat[perm[i]][perm[j]]) adj[i][j / 64] |= std::uint64_t{1} << (j % 64);
  const int cap = static_cast<int>(std::min(rows.size(), cols.size()));
  CliqueSearch search(std::move(adj), cap, node_budget);
  auto best = search.run(out.optimal);
  for (int v : best) out.pairs.push_back(verts[perm[v]]);
  std::sort(out.pairs.begin(), out.pairs.end());
  return out;
}

int ProtocolNode::depth() const {
  if (child.empty()) return 0;
  return 1 + std::max(child[0].depth(), child[1].depth());
}

bool verify_protocol(const BoolMatrix& M, const ProtocolNode& root, std::string* why) {
  auto fail = [&](const std::string& msg) {
    if (why) *why = msg;
    return false;
  };
  if (root.rows != IndexSet::first_n(M.rows) || root.cols != IndexSet::first_n(M.cols))
    return fail("root is not the whole matrix");
  std::vector<const ProtocolNode*> stack{&root};
  while (!stack.empty()) {
    const ProtocolNode* n = stack.back();
    stack.pop_back();
    if (n->child.empty()) {
      bool mono = true;
      n->rows.for_each([&](int x) {
        n->cols.for_each([&](int y) { mono = mono && M.at(x, y) == n->colour; });
      });
      if (!mono) return fail("leaf not monochromatic");
      continue;
    }
    if (n->child.size() != 2) return fail("internal node without two children");
    const auto &a = n->child[0], &b = n->child[1];
    if (n->speaker == 'A') {
      if (a.cols != n->cols || b.cols != n->cols || a.rows.intersects(b.rows) || (a.rows | b.rows) != n->rows ||
          a.rows.empty() || b.rows.empty())
        return fail("Alice's split does not partition the rows");
    } else if (n->speaker == 'B') {
      if (a.rows != n->rows || b.rows != n->rows || a.cols.intersects(b.cols) || (a.cols | b.cols) != n->cols ||
          a.cols.empty() || b.cols.empty())
        return fail("Bob's split does not partition the columns");
    } else {
      return fail("internal node without a speaker");
    }
    stack.push_back(&a);
    stack.push_back(&b);
  }
  return true;
}

CcResult analyse(const BoolMatrix& M, const CcOptions& opts) {
  require_fits(M.rows, M.cols, "matrix");
  CcResult res;
  // The exact ranks dominate at 256 x 256: a progress line (on a terminal) over their pivots.
  std::optional<Progress> progress;
  if (RunControl* control = active_run_control(); control && !control->label.empty())
    progress.emplace(control->label + " (exact ranks)", static_cast<std::uint64_t>(2 * std::min(M.rows, M.cols)));
  res.rank_Q = rank_rational(M, progress ? &*progress : nullptr);
  res.rank_GF2 = rank_gf2(M);
  {
    BoolMatrix C = M;
    for (auto& r : C.row_bits) r = IndexSet::first_n(M.cols).minus(r);
    res.rank_Q_complement = rank_rational(C, progress ? &*progress : nullptr);
  }
  progress.reset();
  res.log_rank_bound = ceil_log2(static_cast<std::uint64_t>(std::max(res.rank_Q + res.rank_Q_complement, 1)));
  auto f1 = max_fooling_set(M, 1, opts.fooling_budget);
  auto f0 = max_fooling_set(M, 0, opts.fooling_budget);
  res.fooling_bound = ceil_log2(static_cast<std::uint64_t>(std::max<std::size_t>(f1.pairs.size() + f0.pairs.size(), 1)));
  if (f1.pairs.size() >= f0.pairs.size()) {
    res.fooling = std::move(f1);
    res.fooling_other = std::move(f0);
  } else {
    res.fooling = std::move(f0);
    res.fooling_other = std::move(f1);
  }
  res.one_way_alice = ceil_log2(distinct_rows(M));
  res.one_way_bob = ceil_log2(distinct_cols(M));

  if (M.rows <= 64 && M.cols <= 64) search_exact<1>(M, opts, res);
  else search_exact<kMaxSide / 64>(M, opts, res);
  return res;
}

}  // namespace attnbounds::cc
