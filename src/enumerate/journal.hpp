// Checkpoints of a long reduction: an append-only journal of finished chunks.
//
// File format (text, one record per line):
//   attnbounds-journal 1 <run hash> <chunks> <chunk size> <run description>
//   <chunk> <payload> <check>
// where <check> is a 64-bit FNV-1a hash (hex) of "<chunk> <payload>".  Each record is written
// with one append; a record cut short by a kill (no newline or a wrong check) is dropped and
// the file truncated there, so a resumed run never trusts a partial line.  The data is flushed to
// disk (fsync) at most every `sync_seconds` and when the journal is closed; a killed process
// loses nothing it has written (the kernel holds it), a machine crash at most that interval.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "enumerate/parallel.hpp"

namespace attnbounds {

// 64-bit FNV-1a hash.
std::uint64_t fnv1a64(const std::string& text);

class ChunkJournal : public ChunkHooks {
 public:
  // Opens `path` for the run described by `run` (its parameters, one line).  must_exist: the
  // file must already hold a journal of this run (resume); otherwise a missing file is created.
  // Throws std::invalid_argument naming the file when it cannot be used (unreadable, another
  // run, different chunking).
  ChunkJournal(std::string path, std::string run, bool must_exist, double sync_seconds = 1.0);
  ~ChunkJournal() override;
  ChunkJournal(const ChunkJournal&) = delete;
  ChunkJournal& operator=(const ChunkJournal&) = delete;

  void begin(std::uint64_t nchunks, std::uint64_t chunk_size) override;
  std::optional<std::string> known(std::uint64_t chunk) override;
  void completed(std::uint64_t chunk, const std::string& payload) override;

  std::uint64_t resumed_chunks() const { return resumed_; }  // chunks taken from the file
  std::uint64_t written_chunks() const { return written_; }  // chunks appended by this run
  // Test hook: after this many appended records the process kills itself (SIGKILL), 0 = never.
  void kill_after(std::uint64_t records) { kill_after_ = records; }

 private:
  std::string path_, run_, opened_header_;
  bool must_exist_;
  double sync_seconds_;
  int fd_ = -1;
  std::map<std::uint64_t, std::string> done_;
  std::uint64_t resumed_ = 0, written_ = 0, kill_after_ = 0;
  double last_sync_ = 0;
};

}  // namespace attnbounds
