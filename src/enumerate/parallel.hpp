// Deterministic parallel reduction over an index range [0, total).
//
// The range is cut into chunks whose size depends only on `total` (never on the thread count);
// workers take chunks from an atomic counter, each chunk folds into its own partial result, and
// the partials are combined in chunk order on the calling thread.  Hence every result — worst
// case, witness, counts — is bit-identical whatever the thread count, provided `combine` is
// deterministic (e.g. "larger value wins, ties go to the earlier chunk").
#pragma once
#include <algorithm>
#include <mpfr.h>
#include <atomic>
#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "enumerate/progress.hpp"

namespace attnbounds {

// CPUs this process may run on: the size of its affinity mask (so `taskset -c 0` gives 1),
// else std::thread::hardware_concurrency(), at least 1.
unsigned available_cpus();
// 0 means "every CPU in the affinity mask".
unsigned resolve_threads(int requested);

// Frees what the numeric libraries keep per thread (MPFR's constant caches and pools, GLPK's
// environment); a worker thread calls it last, else each exited worker leaks them.  Only for a
// thread that holds no live MPFR or GLPK object any more.
void release_thread_resources();

// Chunk size used for `total` items: about 4096 chunks, at least 1 item each.
inline std::uint64_t chunk_size_for(std::uint64_t total) {
  std::uint64_t c = total / 4096;
  return c == 0 ? 1 : c;
}

// What a reduction can do beyond the threads of this process, through serialised partials:
// take chunks finished by an earlier run (a journal), record finished chunks, compute only a
// share of the chunks and obtain the others from peer processes (MPI).  Every hook sees chunk
// indices of the same fixed chunking, so the combined result does not change.
class ChunkHooks {
 public:
  virtual ~ChunkHooks() = default;
  // Called once, before any chunk, with the chunk count and size of this reduction.
  virtual void begin(std::uint64_t nchunks, std::uint64_t chunk_size) {}
  // The payload of a chunk finished earlier, or nullopt.
  virtual std::optional<std::string> known(std::uint64_t chunk) { return std::nullopt; }
  // Whether this process computes the chunk (a chunk that is known() is never recomputed).
  virtual bool assigned(std::uint64_t chunk) { return true; }
  // A chunk finished here (called under a lock, in completion order).
  virtual void completed(std::uint64_t chunk, const std::string& payload) {}
  // After the local work: fills the payloads of the chunks computed elsewhere.  payloads has one
  // entry per chunk; this process's entries are set.
  virtual void exchange(std::vector<std::optional<std::string>>& payloads) {}
};

// Lossless text form of a partial result (needed only with ChunkHooks).
template <class Partial>
struct PartialCodec {
  std::string (*encode)(const Partial&) = nullptr;
  Partial (*decode)(const std::string&) = nullptr;  // throws std::runtime_error on bad text
};

// body(begin, end, partial&) folds// body(begin, end, partial&) folds items [begin, end) into partial (a fresh copy of init).
// combine(acc&, partial&&) merges partials in increasing chunk order.
template <class Partial, class Body, class Combine>
Partial parallel_reduce(std::uint64_t total, unsigned threads, const Partial& init, Body&& body,
                        Combine&& combine, Progress* progress = nullptr, ChunkHooks* hooks = nullptr,
                        PartialCodec<Partial> codec = {}) {
  if (total == 0) return init;
  const std::uint64_t chunk = chunk_size_for(total);
  const std::uint64_t nchunks = (total + chunk - 1) / chunk;
  std::vector<std::optional<Partial>> partials(nchunks);
  std::vector<std::optional<std::string>> payloads;
  std::vector<std::uint64_t> todo;  // chunks this process computes, in increasing order
  if (hooks) {
    if (!codec.encode || !codec.decode) throw std::logic_error("parallel_reduce: hooks need a codec");
    hooks->begin(nchunks, chunk);
    payloads.resize(nchunks);
    for (std::uint64_t c = 0; c < nchunks; ++c) {
      if (auto known = hooks->known(c)) {
        partials[c].emplace(codec.decode(*known));
        payloads[c] = std::move(known);
        if (progress) progress->advance(std::min(total, (c + 1) * chunk) - c * chunk);
      } else if (hooks->assigned(c)) {
        todo.push_back(c);
      }
    }
  }
  const std::uint64_t ntodo = hooks ? todo.size() : nchunks;
  std::atomic<std::uint64_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex, hook_mutex;
  auto worker = [&]() {
    try {
      for (;;) {
        std::uint64_t i = next.fetch_add(1);
        if (i >= ntodo) break;
        const std::uint64_t c = hooks ? todo[i] : i;
        Partial p = init;
        std::uint64_t b = c * chunk, e = b + chunk < total ? b + chunk : total;
        body(b, e, p);
        if (hooks) {
          std::string text = codec.encode(p);
          std::lock_guard<std::mutex> lock(hook_mutex);
          hooks->completed(c, text);
          payloads[c] = std::move(text);
        }
        partials[c].emplace(std::move(p));
        if (progress) progress->advance(e - b);
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      next.store(ntodo);
    }
  };
  unsigned n = threads == 0 ? 1 : threads;
  if (static_cast<std::uint64_t>(n) > ntodo) n = static_cast<unsigned>(ntodo == 0 ? 1 : ntodo);
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < n; ++t)
    pool.emplace_back([&worker] {
      worker();
      release_thread_resources();
    });
  worker();
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
  if (hooks) {
    hooks->exchange(payloads);
    for (std::uint64_t c = 0; c < nchunks; ++c) {
      if (partials[c]) continue;
      if (!payloads[c]) throw std::logic_error("parallel_reduce: chunk " + std::to_string(c) + " was computed nowhere");
      partials[c].emplace(codec.decode(*payloads[c]));
    }
  }
  Partial acc = init;
  for (auto& p : partials) combine(acc, std::move(*p));
  return acc;
}

}  // namespace attnbounds
