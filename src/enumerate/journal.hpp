// Checkpoints of a long run: an append-only journal of the finished chunks of its reductions.
//
// File format (text, one record per line):
//   attnbounds-journal 2 <run hash> <run description>
//   reduction <r> <chunks> <chunk size> <check>
//   <r>.<chunk> <payload> <check>
// A run may do several reductions (min-p does one per precision); they are numbered 0, 1, ...
// in the order the run starts them, which is the same on every run of the same command.  <check>
// is a 64-bit FNV-1a hash (hex) of the rest of the line.  Each record is written with one
// append; a record cut short by a kill (no newline or a wrong check) is dropped and the file
// truncated there, so a resumed run never trusts a partial line.  The data is flushed to disk
// (fsync) at most every `sync_seconds` and when the journal is closed; a killed process loses
// nothing it has written (the kernel holds it), a machine crash at most that interval.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "enumerate/parallel.hpp"

namespace attnbounds {

// 64-bit FNV-1a hash.
std::uint64_t fnv1a64(const std::string& text);

class ChunkJournal : public ChunkHooks {
 public:
  // Opens `path` for the run described by `run` (its parameters, one line) and reads what it
  // holds.  must_exist: the file must already hold a journal of this run (resume); otherwise a
  // missing file is created.  Throws ConfigError ("resume" / "journal") naming the file when it
  // cannot be used (unreadable, another run); a reduction whose chunking differs from the
  // recorded one is refused in begin().
  ChunkJournal(std::string path, std::string run, bool must_exist, double sync_seconds = 1.0);
  ~ChunkJournal() override;
  ChunkJournal(const ChunkJournal&) = delete;
  ChunkJournal& operator=(const ChunkJournal&) = delete;

  void begin(std::uint64_t nchunks, std::uint64_t chunk_size) override;
  std::optional<std::string> known(std::uint64_t chunk) override;
  void completed(std::uint64_t chunk, const std::string& payload) override;

  std::uint64_t resumed_chunks() const { return resumed_; }  // chunks taken from the file
  std::uint64_t written_chunks() const { return written_; }  // chunks appended by this run
  std::uint64_t reductions() const { return next_reduction_; }  // reductions seen by this run
  // Test hook: after this many appended records the process kills itself (SIGKILL), 0 = never.
  void kill_after(std::uint64_t records) { kill_after_ = records; }

 private:
  void append(const std::string& body);

  std::string path_, run_;
  double sync_seconds_;
  int fd_ = -1;
  std::map<std::uint64_t, std::pair<std::uint64_t, std::uint64_t>> chunking_;  // reduction -> (chunks, size)
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::string> done_;        // (reduction, chunk) -> payload
  std::uint64_t current_ = 0, next_reduction_ = 0;
  std::uint64_t resumed_ = 0, written_ = 0, kill_after_ = 0;
  double last_sync_ = 0;
};

// A journal under sharding (MPI): the sharding decides which chunks this process computes,
// exchanges the partials and takes the shared decisions; this process's journal holds the chunks
// it computed, and gives them back on resume.  Each process has its own journal, so a resumed
// run must shard the same way (the same process count): the caller ensures that.
class ShardedJournalHooks : public ChunkHooks {
 public:
  ShardedJournalHooks(ChunkHooks& journal, ChunkHooks& shard) : journal_(journal), shard_(shard) {}
  void begin(std::uint64_t nchunks, std::uint64_t chunk_size) override {
    journal_.begin(nchunks, chunk_size);
    shard_.begin(nchunks, chunk_size);
  }
  // Only this process's own chunks are taken from its journal: they are the ones it sends.
  std::optional<std::string> known(std::uint64_t chunk) override {
    return shard_.assigned(chunk) ? journal_.known(chunk) : std::nullopt;
  }
  bool assigned(std::uint64_t chunk) override { return shard_.assigned(chunk); }
  void completed(std::uint64_t chunk, const std::string& payload) override {
    journal_.completed(chunk, payload);
    shard_.completed(chunk, payload);
  }
  void exchange(std::vector<std::optional<std::string>>& payloads) override { shard_.exchange(payloads); }
  bool any(bool mine) override { return shard_.any(mine); }
  std::uint64_t lowest_failed(std::uint64_t mine) override { return shard_.lowest_failed(mine); }
  std::string shared_error(const std::string& mine) override { return shard_.shared_error(mine); }

 private:
  ChunkHooks& journal_;
  ChunkHooks& shard_;
};

}  // namespace attnbounds
