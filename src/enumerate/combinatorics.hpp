// Enumeration of the finite input spaces: q-subsets of [N] (lexicographic rank/unrank),
// tuples of [M]^N, and multisets.  All 0-based.
#pragma once
#include <cstdint>
#include <vector>

namespace attnbounds {

// C(n, k) exactly; throws std::overflow_error above 2^64 - 1.
std::uint64_t binomial(int n, int k);
// Like binomial but saturates at UINT64_MAX instead of throwing (for size guards).
std::uint64_t binomial_saturating(int n, int k);

// Lexicographic rank of a sorted k-subset of [0, n).
std::uint64_t rank_subset(const std::vector<int>& subset, int n);
// Inverse of rank_subset: writes the sorted subset with the given rank into out (size k).
// Throws std::out_of_range when rank >= C(n, k).
void unrank_subset(std::uint64_t rank, int n, int k, int* out);
// Advances a sorted k-subset of [0, n) to its lexicographic successor; false after the last.
bool next_subset(int* s, int k, int n);

// Tuples of [0, M)^N in mixed-radix order (first coordinate least significant).
void unrank_tuple(std::uint64_t rank, int M, int N, int* out);
bool next_tuple(int* t, int N, int M);
// Number of tuples M^N; saturates at UINT64_MAX.
std::uint64_t tuple_count_saturating(int M, int N);

// Multisets of size n over [0, M) as non-decreasing sequences; count = C(M + n - 1, n).
bool next_multiset(int* s, int n, int M);
// Number of permutations of a multiset given as a non-decreasing sequence (n!/Π mult!).
// Throws std::overflow_error above 2^64 - 1.
std::uint64_t multiset_permutations(const int* s, int n);

}  // namespace attnbounds
