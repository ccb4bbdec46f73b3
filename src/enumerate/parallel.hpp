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
#include <chrono>
#include <cstring>
#include <type_traits>
#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "enumerate/progress.hpp"
#include "enumerate/run_control.hpp"

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
  // A decision every process must share (refusing a run): true when `mine` is true in any of
  // them.  Collective under MPI: every process calls it for the same reductions.
  virtual bool any(bool mine) { return mine; }
  // After the local work: the lowest chunk that failed in any process (UINT64_MAX: none), given
  // this process's lowest (UINT64_MAX: none).  Collective like any().
  virtual std::uint64_t lowest_failed(std::uint64_t mine) { return mine; }
  // The first non-empty `mine` over the processes: the error of the lowest failed chunk, sent by
  // the process that ran it.  Collective like any().
  virtual std::string shared_error(const std::string& mine) { return mine; }
};

// A chunk's error as text (its kind and message), so that another process can throw the same
// exception: FormatRangeError, ConfigError, std::invalid_argument, std::logic_error, else
// std::runtime_error with its message.
std::string encode_chunk_error(const std::exception_ptr& error);
[[noreturn]] void throw_chunk_error(const std::string& text);

// Lossless text form of a partial result (needed only with ChunkHooks).
template <class Partial>
struct PartialCodec {
  std::string (*encode)(const Partial&) = nullptr;
  Partial (*decode)(const std::string&) = nullptr;  // throws std::runtime_error on bad text
};

// A lossless text form for a trivially copyable partial: its bytes in hex.  The reader checks
// the length, so a journal of another build's layout is refused rather than misread.
template <class Partial>
std::string encode_partial_bytes(const Partial& p) {
  static const char* digits = "0123456789abcdef";
  unsigned char bytes[sizeof(Partial)];
  std::memcpy(bytes, &p, sizeof(Partial));
  std::string out(2 * sizeof(Partial), '0');
  for (std::size_t i = 0; i < sizeof(Partial); ++i) {
    out[2 * i] = digits[bytes[i] >> 4];
    out[2 * i + 1] = digits[bytes[i] & 15];
  }
  return out;
}

template <class Partial>
Partial decode_partial_bytes(const std::string& text) {
  if (text.size() != 2 * sizeof(Partial)) throw std::runtime_error("chunk record: wrong length for this build's partial");
  auto nibble = [](char ch) -> unsigned {
    if (ch >= '0' && ch <= '9') return static_cast<unsigned>(ch - '0');
    if (ch >= 'a' && ch <= 'f') return static_cast<unsigned>(ch - 'a' + 10);
    throw std::runtime_error("chunk record: not hex");
  };
  unsigned char bytes[sizeof(Partial)];
  for (std::size_t i = 0; i < sizeof(Partial); ++i)
    bytes[i] = static_cast<unsigned char>(nibble(text[2 * i]) << 4 | nibble(text[2 * i + 1]));
  Partial p;
  std::memcpy(&p, bytes, sizeof(Partial));
  return p;
}

// The codec used when a caller gives none: bytes for trivially copyable partials (every filtered
// sweep's tally, counters), none otherwise (such a reduction then runs without hooks).
template <class Partial>
PartialCodec<Partial> default_partial_codec() {
  if constexpr (std::is_trivially_copyable_v<Partial> && std::is_default_constructible_v<Partial>)
    return {&encode_partial_bytes<Partial>, &decode_partial_bytes<Partial>};
  else
    return {};
}

namespace detail {
// Set while this thread runs a top-level reduction, so a nested one stays plain.
inline thread_local bool in_reduction = false;
}  // namespace detail

// body(begin, end, partial&) folds items [begin, end) into partial (a fresh copy of init).
// combine(acc&, partial&&) merges partials in increasing chunk order.
// Without explicit hooks, a top-level reduction on a thread with a RunControl (run_control.hpp)
// uses its hooks (when the partial has a codec), its progress label and its time limit.
template <class Partial, class Body, class Combine>
Partial parallel_reduce(std::uint64_t total, unsigned threads, const Partial& init, Body&& body,
                        Combine&& combine, Progress* progress = nullptr, ChunkHooks* hooks = nullptr,
                        PartialCodec<Partial> codec = {}) {
  if (total == 0) return init;
  RunControl* control = detail::in_reduction ? nullptr : active_run_control();
  struct Nest {
    bool outer;
    Nest() : outer(detail::in_reduction) { detail::in_reduction = true; }
    ~Nest() { detail::in_reduction = outer; }
  } nest;
  if (control) {
    ++control->reductions;
    if (!codec.encode) codec = default_partial_codec<Partial>();
    if (!hooks && control->hooks && codec.encode && codec.decode) hooks = control->hooks;
    if (hooks == control->hooks && hooks) ++control->hooked_reductions;
  }
  std::optional<Progress> own_progress;
  if (!progress && control && !control->label.empty()) progress = &own_progress.emplace(control->label, total);
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
  } else {
    todo.resize(nchunks);
    for (std::uint64_t c = 0; c < nchunks; ++c) todo[c] = c;
  }
  std::mutex error_mutex, hook_mutex;
  const unsigned nthreads = threads == 0 ? 1 : threads;
  // When chunks throw, the exception of the lowest such chunk is the one reported, so the error
  // does not depend on the thread count: chunks above a failed one are skipped, chunks below it
  // still run (one of them may fail first in enumeration order).
  std::uint64_t error_chunk = UINT64_MAX;
  std::exception_ptr error;
  std::atomic<std::uint64_t> lowest_failed{UINT64_MAX};
  // Runs the chunks `list` on up to nthreads threads; each chunk's partial lands in its slot.
  auto run_chunks = [&](const std::vector<std::uint64_t>& list) {
    if (list.empty()) return;
    std::atomic<std::uint64_t> next{0};
    auto worker = [&]() {
      for (;;) {
        std::uint64_t i = next.fetch_add(1);
        if (i >= list.size()) break;
        const std::uint64_t c = list[i];
        if (c > lowest_failed.load()) continue;
        try {
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
        } catch (...) {
          std::lock_guard<std::mutex> lock(error_mutex);
          if (c < error_chunk) {
            error_chunk = c;
            error = std::current_exception();
            lowest_failed.store(c);
          }
        }
      }
    };
    unsigned n = nthreads;
    if (static_cast<std::uint64_t>(n) > list.size()) n = static_cast<unsigned>(list.size());
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < n; ++t)
      pool.emplace_back([&worker] {
        worker();
        release_thread_resources();  // MPFR's caches and GLPK's environment would leak at thread exit
      });
    worker();
    for (auto& th : pool) th.join();
  };
  if (control && !control->force) {
    // Calibration: about two chunks per thread, spread over this process's chunks, timed; the
    // rest is extrapolated.  Under MPI every rank takes part in the decision.
    const std::uint64_t want = 2 * static_cast<std::uint64_t>(nthreads);
    const std::uint64_t ncal = std::min<std::uint64_t>(todo.size(), want);
    std::vector<std::uint64_t> cal, rest;
    std::vector<bool> is_cal(todo.size(), false);
    for (std::uint64_t i = 0; i < ncal; ++i) is_cal[i * todo.size() / ncal] = true;
    for (std::uint64_t i = 0; i < todo.size(); ++i) (is_cal[i] ? cal : rest).push_back(todo[i]);
    const auto t0 = std::chrono::steady_clock::now();
    run_chunks(cal);
    const double spent = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // After a failed calibration chunk only the chunks below it are still to run.
    std::uint64_t rest_to_run = 0;
    for (std::uint64_t c : rest) rest_to_run += c < error_chunk ? 1 : 0;
    const double remaining = cal.empty() ? 0.0 : spent * static_cast<double>(rest_to_run) / static_cast<double>(cal.size());
    const double repeats = static_cast<double>(RepeatHint::current());
    // The work ahead: this reduction, times the repeats the command announced (RepeatHint).
    const double estimate = remaining + (repeats - 1) * (spent + remaining);
    control->largest_estimate_seconds = std::max(control->largest_estimate_seconds, estimate);
    bool refuse = estimate > control->time_limit_seconds;
    if (ChunkHooks* decider = control->hooks ? control->hooks : hooks) refuse = decider->any(refuse);
    if (refuse) {
      const std::uint64_t cases = total > UINT64_MAX / RepeatHint::current() ? UINT64_MAX : total * RepeatHint::current();
      throw TimeLimitError(estimate, nthreads, cases, control->time_limit_seconds);
    }
    run_chunks(rest);
  } else {
    run_chunks(todo);
  }
  if (hooks) {
    // Under sharding a chunk may fail in one process only: every process throws the error of the
    // lowest failed chunk, as one process would, so none waits in exchange() for partials that
    // never come, and all go on alike when a caller catches it (min-p takes an overflow as an
    // undecided precision and scans on).
    const std::uint64_t lowest = hooks->lowest_failed(error ? error_chunk : UINT64_MAX);
    if (lowest != UINT64_MAX) {
      const bool mine = error && error_chunk == lowest;
      const std::string text = hooks->shared_error(mine ? encode_chunk_error(error) : std::string());
      if (mine) std::rethrow_exception(error);
      throw_chunk_error(text);
    }
  }
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
