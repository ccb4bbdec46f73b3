// Deterministic parallel reduction over an index range [0, total).
//
// The range is cut into chunks whose size depends only on `total` (never on the thread count);
// workers take chunks from an atomic counter, each chunk folds into its own partial result, and
// the partials are combined in chunk order on the calling thread.  Hence every result — worst
// case, witness, counts — is bit-identical whatever --threads is, provided `combine` is
// deterministic (e.g. "larger value wins, ties go to the earlier chunk").
#pragma once
#include <mpfr.h>

#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "enumerate/progress.hpp"

namespace attnbounds {

// 0 means "all cores".
unsigned resolve_threads(int requested);

// Chunk size used for `total` items: about 4096 chunks, at least 1 item each.
inline std::uint64_t chunk_size_for(std::uint64_t total) {
  std::uint64_t c = total / 4096;
  return c == 0 ? 1 : c;
}

// body(begin, end, partial&) folds items [begin, end) into partial (a fresh copy of init).
// combine(acc&, partial&&) merges partials in increasing chunk order.
template <class Partial, class Body, class Combine>
Partial parallel_reduce(std::uint64_t total, unsigned threads, const Partial& init, Body&& body,
                        Combine&& combine, Progress* progress = nullptr) {
  if (total == 0) return init;
  const std::uint64_t chunk = chunk_size_for(total);
  const std::uint64_t nchunks = (total + chunk - 1) / chunk;
  std::vector<std::optional<Partial>> partials(nchunks);
  std::atomic<std::uint64_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto worker = [&]() {
    try {
      for (;;) {
        std::uint64_t c = next.fetch_add(1);
        if (c >= nchunks) break;
        Partial p = init;
        std::uint64_t b = c * chunk, e = b + chunk < total ? b + chunk : total;
        body(b, e, p);
        partials[c].emplace(std::move(p));
        if (progress) progress->advance(e - b);
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      next.store(nchunks);
    }
  };
  unsigned n = threads == 0 ? 1 : threads;
  if (static_cast<std::uint64_t>(n) > nchunks) n = static_cast<unsigned>(nchunks);
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < n; ++t)
    pool.emplace_back([&worker] {
      worker();
      // MPFR keeps per-thread caches (constants, pools) that would otherwise leak at thread exit.
      mpfr_free_cache2(MPFR_FREE_LOCAL_CACHE);
    });
  worker();
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
  Partial acc = init;
  for (auto& p : partials) combine(acc, std::move(*p));
  return acc;
}

}  // namespace attnbounds
