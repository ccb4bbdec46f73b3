#include "enumerate/combinatorics.hpp"

#include <limits>
#include <stdexcept>
#include <string>

namespace attnbounds {

__extension__ typedef unsigned __int128 u128;

std::uint64_t binomial_saturating(int n, int k) {
  if (k < 0 || n < 0 || k > n) return 0;
  if (k > n - k) k = n - k;
  u128 r = 1;
  for (int i = 1; i <= k; ++i) {
    r = r * static_cast<unsigned>(n - k + i) / static_cast<unsigned>(i);
    if (r > std::numeric_limits<std::uint64_t>::max()) return std::numeric_limits<std::uint64_t>::max();
  }
  return static_cast<std::uint64_t>(r);
}

std::uint64_t binomial(int n, int k) {
  std::uint64_t r = binomial_saturating(n, k);
  if (r == std::numeric_limits<std::uint64_t>::max()) throw std::overflow_error("binomial coefficient too large");
  return r;
}

std::uint64_t rank_subset(const std::vector<int>& s, int n) {
  const int k = static_cast<int>(s.size());
  std::uint64_t r = 0;
  int prev = -1;
  for (int i = 0; i < k; ++i) {
    for (int v = prev + 1; v < s[static_cast<std::size_t>(i)]; ++v) r += binomial(n - v - 1, k - i - 1);
    prev = s[static_cast<std::size_t>(i)];
  }
  return r;
}

void unrank_subset(std::uint64_t rank, int n, int k, int* out) {
  // Out-of-range ranks would otherwise walk v past n forever (the blocks become 0).
  if (k < 0 || k > n || rank >= binomial(n, k))
    throw std::out_of_range("unrank_subset: rank " + std::to_string(rank) + " is not below C(" +
                            std::to_string(n) + ", " + std::to_string(k) + ")");
  int v = 0;
  for (int i = 0; i < k; ++i) {
    for (;; ++v) {
      std::uint64_t block = binomial(n - v - 1, k - i - 1);
      if (rank < block) break;
      rank -= block;
    }
    out[i] = v++;
  }
}

bool next_subset(int* s, int k, int n) {
  int i = k - 1;
  while (i >= 0 && s[i] == n - k + i) --i;
  if (i < 0) return false;
  ++s[i];
  for (int j = i + 1; j < k; ++j) s[j] = s[j - 1] + 1;
  return true;
}

void unrank_tuple(std::uint64_t rank, int M, int N, int* out) {
  for (int i = 0; i < N; ++i) {
    out[i] = static_cast<int>(rank % static_cast<std::uint64_t>(M));
    rank /= static_cast<std::uint64_t>(M);
  }
}

bool next_tuple(int* t, int N, int M) {
  for (int i = 0; i < N; ++i) {
    if (++t[i] < M) return true;
    t[i] = 0;
  }
  return false;
}

std::uint64_t tuple_count_saturating(int M, int N) {
  u128 r = 1;
  for (int i = 0; i < N; ++i) {
    r *= static_cast<unsigned>(M);
    if (r > std::numeric_limits<std::uint64_t>::max()) return std::numeric_limits<std::uint64_t>::max();
  }
  return static_cast<std::uint64_t>(r);
}

bool next_multiset(int* s, int n, int M) {
  int i = n - 1;
  while (i >= 0 && s[i] == M - 1) --i;
  if (i < 0) return false;
  ++s[i];
  for (int j = i + 1; j < n; ++j) s[j] = s[i];
  return true;
}

std::uint64_t multiset_permutations(const int* s, int n) {
  // n!/Π mult! computed as a product of binomials to stay exact.
  u128 r = 1;
  int placed = 0;
  for (int i = 0; i < n;) {
    int j = i;
    while (j < n && s[j] == s[i]) ++j;
    placed += j - i;
    r *= binomial(placed, j - i);
    if (r > std::numeric_limits<std::uint64_t>::max())
      throw std::overflow_error("multiset_permutations: more than 2^64 - 1 permutations");
    i = j;
  }
  return static_cast<std::uint64_t>(r);
}

}  // namespace attnbounds
