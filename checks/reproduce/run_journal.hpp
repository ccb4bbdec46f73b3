// What makes `reproduce` safe to interrupt and to resume: a lock on the output directory and a
// journal of finished runs (format in docs/reproduce.md, "Interruptions, --resume and the lock").
#pragma once
#include <filesystem>
#include <string>
#include <cstdint>
#include <vector>

#include "checks/result_json.hpp"

namespace attnbounds {


// An exclusive flock on DIR/reproduce.lock, held while alive (the kernel drops it when the
// process dies, however it dies).  Throws UsageError("--out", ...) when another process holds it.
class OutputDirLock {
 public:
  explicit OutputDirLock(const std::filesystem::path& dir);
  ~OutputDirLock();
  OutputDirLock(const OutputDirLock&) = delete;
  OutputDirLock& operator=(const OutputDirLock&) = delete;

 private:
  int fd_ = -1;
};

// DIR/reproduce-journal.jsonl: a header line, then one JSON object per finished run, each
// written with one append and synced; a completion line when every output was written.  A line
// cut short by a kill (no newline, or not JSON) is dropped with everything after it.
class RunJournal {
 public:
  static constexpr const char* kFileName = "reproduce-journal.jsonl";
  // Reads the journal in `dir` if there is one; throws UsageError("--out", ...) naming the file
  // when it exists and is not a reproduce journal.
  explicit RunJournal(const std::filesystem::path& dir);
  ~RunJournal();
  RunJournal(const RunJournal&) = delete;
  RunJournal& operator=(const RunJournal&) = delete;

  std::filesystem::path path() const { return path_; }
  bool exists() const { return exists_; }
  // The last line says every output of that reproduce was written.
  bool complete() const { return complete_; }
  // Run records read from the file (a run redone later counts once per record).
  std::size_t finished_runs() const { return records_.size(); }
  // The last record of run `id`, or nullptr.
  const json* find(const std::string& id) const;

  // Replaces the file (atomically) by a new journal holding only `header`, and opens it.
  void start_fresh(const json& header);
  // Keeps the records read, drops a damaged tail, and opens the file for appending.
  void continue_existing();
  // One line, one write, then fdatasync; throws OutputError naming the file when it fails.
  void append(const json& record);
  void mark_complete(int exit_status);

 private:
  std::filesystem::path path_;
  bool exists_ = false, complete_ = false;
  std::uintmax_t good_bytes_ = 0;
  std::vector<json> records_;
  int fd_ = -1;
};

}  // namespace attnbounds
