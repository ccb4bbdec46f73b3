#include "cc/cc.hpp"

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

namespace attnbounds::cc {

namespace {

std::uint64_t full_mask(int n) { return n >= 64 ? ~std::uint64_t{0} : ((std::uint64_t{1} << n) - 1); }

void require_fits(int rows, int cols, const std::string& what) {
  if (rows < 1 || cols < 1 || rows > kMaxSide || cols > kMaxSide)
    throw std::invalid_argument(fmt::format("{}: the matrix is {}x{}; rows and columns must be in 1..{}", what,
                                            rows, cols, kMaxSide));
}

std::string bits_label(std::uint64_t v, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += ((v >> i) & 1U) ? '1' : '0';
  return s;
}

template <class F>
BoolMatrix make_square(int n, const std::string& name, F&& f) {
  if (n < 1 || n > 6) throw std::invalid_argument(fmt::format("--n: {} needs n in 1..6 (a 2^n x 2^n matrix, at most {} per side; got {})", name, kMaxSide, n));
  BoolMatrix M;
  M.rows = M.cols = 1 << n;
  M.row_bits.assign(M.rows, 0);
  for (int a = 0; a < M.rows; ++a) {
    for (int b = 0; b < M.cols; ++b)
      if (f(static_cast<std::uint64_t>(a), static_cast<std::uint64_t>(b))) M.row_bits[a] |= std::uint64_t{1} << b;
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

// Search state for the exact D(f).
struct Entry {
  int lo = 0, hi = 0;  // proven bounds on D of this (canonical) rectangle
  char side = 0;       // split achieving hi: 'A' rows, 'B' columns
  std::uint64_t part0 = 0;
};

struct KeyHash {
  std::size_t operator()(const std::pair<std::uint64_t, std::uint64_t>& k) const {
    std::uint64_t h = k.first * 0x9E3779B97F4A7C15ULL ^ (k.second + 0x632BE59BD9B4E019ULL + (k.first << 6));
    return static_cast<std::size_t>(h ^ (h >> 29));
  }
};

struct BudgetExceeded {};
constexpr int kNoUpper = 1 << 20;

class Searcher {
 public:
  Searcher(const BoolMatrix& M, std::uint64_t budget, bool prune)
      : M_(M), colbits_(M.col_bits()), budget_(budget), prune_(prune) {}

  // Removes duplicate rows and columns (an optimal protocol never separates identical rows).
  std::pair<std::uint64_t, std::uint64_t> canonical(std::uint64_t rows, std::uint64_t cols) const {
    std::uint64_t crow = 0, ccol = 0;
    std::vector<std::uint64_t> seen;
    for (std::uint64_t r = rows; r; r &= r - 1) {
      int x = std::countr_zero(r);
      std::uint64_t pat = M_.row_bits[x] & cols;
      if (std::find(seen.begin(), seen.end(), pat) == seen.end()) {
        seen.push_back(pat);
        crow |= std::uint64_t{1} << x;
      }
    }
    seen.clear();
    for (std::uint64_t c = cols; c; c &= c - 1) {
      int y = std::countr_zero(c);
      std::uint64_t pat = colbits_[y] & crow;
      if (std::find(seen.begin(), seen.end(), pat) == seen.end()) {
        seen.push_back(pat);
        ccol |= std::uint64_t{1} << y;
      }
    }
    return {crow, ccol};
  }

  // The representative (lowest index with the same pattern) of row x within (rows, cols).
  int row_rep(int x, std::uint64_t rows, std::uint64_t cols) const {
    const std::uint64_t pat = M_.row_bits[x] & cols;
    for (std::uint64_t r = rows; r; r &= r - 1) {
      int z = std::countr_zero(r);
      if ((M_.row_bits[z] & cols) == pat) return z;
    }
    return x;
  }
  int col_rep(int y, std::uint64_t rows, std::uint64_t cols) const {
    const std::uint64_t pat = colbits_[y] & rows;
    for (std::uint64_t c = cols; c; c &= c - 1) {
      int z = std::countr_zero(c);
      if ((colbits_[z] & rows) == pat) return z;
    }
    return y;
  }

  int lower_bound(std::uint64_t rows, std::uint64_t cols) const {
    std::vector<std::vector<std::uint64_t>> a, b;
    for (std::uint64_t r = rows; r; r &= r - 1) {
      int x = std::countr_zero(r);
      std::vector<std::uint64_t> ra, rb;
      for (std::uint64_t c = cols; c; c &= c - 1) {
        int y = std::countr_zero(c);
        ra.push_back(M_.at(x, y));
        rb.push_back(1 - M_.at(x, y));
      }
      a.push_back(std::move(ra));
      b.push_back(std::move(rb));
    }
    const int leaves = rank_mod_p(std::move(a)) + rank_mod_p(std::move(b));
    return ceil_log2(static_cast<std::uint64_t>(std::max(leaves, 1)));
  }

  // Trivial protocol: one side names its class, the other answers (or a single value split).
  void trivial(std::uint64_t rows, std::uint64_t cols, Entry& e) const {
    const int kr = std::popcount(rows), kc = std::popcount(cols);
    if (kr == 1 || kc == 1) {
      e.hi = 1;
      if (kr == 1) {  // Bob announces the value
        e.side = 'B';
        e.part0 = cols & ~M_.row_bits[std::countr_zero(rows)];
      } else {
        e.side = 'A';
        e.part0 = rows & ~colbits_[std::countr_zero(cols)];
      }
      return;
    }
    const int ua = ceil_log2(kr) + 1, ub = ceil_log2(kc) + 1;
    const bool alice = ua <= ub;
    const std::uint64_t set = alice ? rows : cols;
    const int half = (std::popcount(set) + 1) / 2;
    std::uint64_t part = 0, s = set;
    for (int i = 0; i < half; ++i) {
      part |= s & (~s + 1);
      s &= s - 1;
    }
    e.hi = alice ? ua : ub;
    e.side = alice ? 'A' : 'B';
    e.part0 = part;
  }

  Entry& entry(std::uint64_t rows, std::uint64_t cols) {
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
  bool decide(std::uint64_t rows0, std::uint64_t cols0, int d) {
    auto [rows, cols] = canonical(rows0, cols0);
    if (std::popcount(rows) == 1 && std::popcount(cols) == 1) return true;  // monochromatic
    if (d <= 0) return false;
    Entry& e = entry(rows, cols);
    if (e.hi <= d) return true;
    if (e.lo > d) return false;
    if (++nodes_ > budget_) throw BudgetExceeded{};
    for (char side : {'A', 'B'}) {
      const std::uint64_t set = side == 'A' ? rows : cols;
      if (std::popcount(set) < 2) continue;
      const std::uint64_t low = set & (~set + 1), rest = set ^ low;
      // part0 = low ∪ s for every proper subset s of rest (each unordered split once).
      for (std::uint64_t s = 0;; s = (s - rest) & rest) {
        if (s != rest) {
          const std::uint64_t p0 = low | s, p1 = set ^ p0;
          bool ok = side == 'A' ? decide(p0, cols, d - 1) && decide(p1, cols, d - 1)
                                : decide(rows, p0, d - 1) && decide(rows, p1, d - 1);
          if (ok) {
            e.hi = d;
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
  ProtocolNode build(std::uint64_t rows, std::uint64_t cols) {
    ProtocolNode node;
    node.rows = rows;
    node.cols = cols;
    auto [crow, ccol] = canonical(rows, cols);
    if (std::popcount(crow) == 1 && std::popcount(ccol) == 1) {
      node.colour = M_.at(std::countr_zero(crow), std::countr_zero(ccol));
      return node;
    }
    const Entry& e = entry(crow, ccol);
    node.speaker = e.side;
    std::uint64_t p0 = 0;
    if (e.side == 'A') {
      for (std::uint64_t r = rows; r; r &= r - 1) {
        int x = std::countr_zero(r);
        if ((e.part0 >> row_rep(x, crow, ccol)) & 1U) p0 |= std::uint64_t{1} << x;
      }
      node.child.push_back(build(p0, cols));
      node.child.push_back(build(rows ^ p0, cols));
    } else {
      for (std::uint64_t c = cols; c; c &= c - 1) {
        int y = std::countr_zero(c);
        if ((e.part0 >> col_rep(y, crow, ccol)) & 1U) p0 |= std::uint64_t{1} << y;
      }
      node.child.push_back(build(rows, p0));
      node.child.push_back(build(rows, cols ^ p0));
    }
    return node;
  }

  std::uint64_t nodes() const { return nodes_; }

 private:
  const BoolMatrix& M_;
  std::vector<std::uint64_t> colbits_;
  std::uint64_t budget_;
  bool prune_;
  std::uint64_t nodes_ = 0;
  std::unordered_map<std::pair<std::uint64_t, std::uint64_t>, Entry, KeyHash> memo_;
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

}  // namespace

std::vector<std::uint64_t> BoolMatrix::col_bits() const {
  std::vector<std::uint64_t> out(cols, 0);
  for (int x = 0; x < rows; ++x)
    for (int y = 0; y < cols; ++y)
      if (at(x, y)) out[y] |= std::uint64_t{1} << x;
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
  if (n < 1 || n > 6) throw std::invalid_argument(fmt::format("--n: index needs n in 1..6 (2^n rows, at most {}; got {})", kMaxSide, n));
  BoolMatrix M;
  M.rows = 1 << n;
  M.cols = n;
  M.row_bits.assign(M.rows, 0);
  for (int b = 0; b < M.rows; ++b) {
    M.row_bits[b] = static_cast<std::uint64_t>(b);  // INDEX(b, k) = b_k
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
    std::uint64_t bits = 0;
    int width = 0;
    for (char ch : line) {
      if (ch == '#') break;
      if (ch == ' ' || ch == '\t' || ch == '\r' || ch == ',') continue;
      if (ch != '0' && ch != '1')
        throw std::invalid_argument(fmt::format("--matrix: line {}: entry '{}' is not 0 or 1", lineno, ch));
      if (width >= kMaxSide)
        throw std::invalid_argument(fmt::format("--matrix: line {}: more than {} columns (the limit)", lineno, kMaxSide));
      if (ch == '1') bits |= std::uint64_t{1} << width;
      ++width;
    }
    if (width == 0) continue;
    if (M.rows == 0) M.cols = width;
    else if (width != M.cols)
      throw std::invalid_argument(fmt::format("--matrix: line {}: ragged rows ({} entries, the first row has {})",
                                              lineno, width, M.cols));
    if (M.rows >= kMaxSide)
      throw std::invalid_argument(fmt::format("--matrix: more than {} rows (the limit)", kMaxSide));
    M.row_bits.push_back(bits);
    ++M.rows;
  }
  if (M.rows == 0) throw std::invalid_argument("--matrix: no rows (expected lines of 0/1 entries)");
  require_fits(M.rows, M.cols, "--matrix");
  return M;
}

BoolMatrix read_matrix_file(const std::string& path) {
  std::string text;
  try {
    text = read_bounded_file(path, kMaxTextInputBytes);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("--matrix: cannot open: ") + e.what());
  }
  return parse_matrix(text);
}

int rank_rational(const BoolMatrix& M) {
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
  }
  return rank;
}

int rank_gf2(const BoolMatrix& M) {
  std::vector<std::uint64_t> rows = M.row_bits;
  int rank = 0;
  for (int c = 0; c < M.cols; ++c) {
    const std::uint64_t bit = std::uint64_t{1} << c;
    auto it = std::find_if(rows.begin() + rank, rows.end(), [&](std::uint64_t r) { return r & bit; });
    if (it == rows.end()) continue;
    std::swap(*it, rows[rank]);
    for (std::size_t r = 0; r < rows.size(); ++r)
      if (static_cast<int>(r) != rank && (rows[r] & bit)) rows[r] ^= rows[rank];
    ++rank;
  }
  return rank;
}

int distinct_rows(const BoolMatrix& M) {
  return static_cast<int>(std::set<std::uint64_t>(M.row_bits.begin(), M.row_bits.end()).size());
}
int distinct_cols(const BoolMatrix& M) {
  auto c = M.col_bits();
  return static_cast<int>(std::set<std::uint64_t>(c.begin(), c.end()).size());
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
    std::set<std::uint64_t> seen;
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
  if (root.rows != full_mask(M.rows) || root.cols != full_mask(M.cols)) return fail("root is not the whole matrix");
  std::vector<const ProtocolNode*> stack{&root};
  while (!stack.empty()) {
    const ProtocolNode* n = stack.back();
    stack.pop_back();
    if (n->child.empty()) {
      for (std::uint64_t r = n->rows; r; r &= r - 1)
        for (std::uint64_t c = n->cols; c; c &= c - 1)
          if (M.at(std::countr_zero(r), std::countr_zero(c)) != n->colour) return fail("leaf not monochromatic");
      continue;
    }
    if (n->child.size() != 2) return fail("internal node without two children");
    const auto &a = n->child[0], &b = n->child[1];
    if (n->speaker == 'A') {
      if (a.cols != n->cols || b.cols != n->cols || (a.rows & b.rows) || (a.rows | b.rows) != n->rows || !a.rows || !b.rows)
        return fail("Alice's split does not partition the rows");
    } else if (n->speaker == 'B') {
      if (a.rows != n->rows || b.rows != n->rows || (a.cols & b.cols) || (a.cols | b.cols) != n->cols || !a.cols || !b.cols)
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
  res.rank_Q = rank_rational(M);
  res.rank_GF2 = rank_gf2(M);
  {
    BoolMatrix C = M;
    for (auto& r : C.row_bits) r = ~r & full_mask(M.cols);
    res.rank_Q_complement = rank_rational(C);
  }
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

  Searcher s(M, opts.node_budget, opts.prune);
  const std::uint64_t rows = full_mask(M.rows), cols = full_mask(M.cols);
  auto [crow, ccol] = s.canonical(rows, cols);
  if (std::popcount(crow) == 1 && std::popcount(ccol) == 1) {
    res.D = 0;
  } else {
    Entry& root = s.entry(crow, ccol);
    res.D_lower = std::max({root.lo, res.fooling_bound});
    res.D_upper = root.hi;
    if (!opts.prune) {
      res.D_lower = 1;
      res.D_upper = M.rows + M.cols;  // trivial: Alice sends her row index... any finite cap
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
  return res;
}

nlohmann::ordered_json protocol_json(const BoolMatrix& M, const ProtocolNode& node) {
  auto list = [](std::uint64_t mask) {
    nlohmann::ordered_json a = nlohmann::ordered_json::array();
    for (std::uint64_t m = mask; m; m &= m - 1) a.push_back(std::countr_zero(m) + 1);
    return a;
  };
  nlohmann::ordered_json j;
  if (node.child.empty()) {
    j["leaf"] = node.colour;
    j["rows"] = list(node.rows);
    j["cols"] = list(node.cols);
    return j;
  }
  j["speaker"] = node.speaker == 'A' ? "alice" : "bob";
  j["rows"] = list(node.rows);
  j["cols"] = list(node.cols);
  j["send0"] = protocol_json(M, node.child[0]);
  j["send1"] = protocol_json(M, node.child[1]);
  return j;
}

}  // namespace attnbounds::cc
