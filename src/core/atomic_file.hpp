// Output files that are either complete or absent.  Data goes to a temporary file in the target's
// directory (".<name>.partial-XXXXXX"), which is flushed, fsync'ed and renamed over the target
// only when everything was written; a failure or an interruption leaves the previous file intact
// and nothing under the target's name that looks complete.  A target that exists and is not a
// regular file (/dev/stdout, /dev/full, a FIFO) is written in place, still checking every error.
#pragma once
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace attnbounds {

// An output could not be written completely (the message names the path); exit status 2.
struct OutputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class AtomicFile {
 public:
  // Creates the temporary file; throws OutputError naming `path` when it cannot.
  explicit AtomicFile(std::string path);
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  // Without commit() the temporary file is removed and the target is untouched.
  ~AtomicFile();

  std::ostream& stream() { return out_; }
  // Flushes, syncs and renames; throws OutputError naming the path on any error
  // (including a full disk).  The stream must not be used afterwards.
  void commit();
  const std::string& path() const { return path_; }

 private:
  std::string path_, temp_;
  bool in_place_ = false, committed_ = false;
  std::ofstream out_;
};

// Refuses, before any work is done, an output path whose directory does not exist or is not
// writable, or that names a directory; throws OutputError naming the path.
void require_writable_output(const std::string& path);
// Writes all of `text` to the open descriptor `fd` (retrying short writes and EINTR); throws
// OutputError naming `path` on an error (a full disk, say).  For append-only logs (journals).
void write_all_to_fd(int fd, std::string_view text, const std::string& path);
// Writes `content` to `path` atomically (as AtomicFile).
void write_file_atomically(const std::string& path, std::string_view content);

}  // namespace attnbounds
