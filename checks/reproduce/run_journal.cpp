#include "run_journal.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "checks/usage_error.hpp"
#include "core/atomic_file.hpp"
#include "files.hpp"

namespace attnbounds {

namespace fs = std::filesystem;

namespace {

constexpr const char* kHeaderKey = "attnbounds_reproduce_journal";


}  // namespace

OutputDirLock::OutputDirLock(const fs::path& dir) {
  const fs::path path = dir / "reproduce.lock";
  // Never truncated before the lock is ours: the holder's pid stays readable for the message.
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd_ < 0) throw UsageError("--out", "cannot open '" + path.string() + "': " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char buf[32] = {};
    const ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK) {
      std::string pid = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string("?");
      while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
      throw UsageError("--out", "another reproduce (pid " + pid + ") is writing to '" + dir.string() +
                                    "'; wait for it to finish or choose another --out");
    }
    throw UsageError("--out", "cannot lock '" + path.string() + "': " + std::strerror(err));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) == 0) {
    [[maybe_unused]] ssize_t n = ::pwrite(fd_, pid.data(), pid.size(), 0);
  }
}

OutputDirLock::~OutputDirLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock; the file stays (unlinking it would race)
}

RunJournal::RunJournal(const fs::path& dir) : path_(dir / kFileName) {
  std::error_code ec;
  if (!fs::exists(fs::symlink_status(path_, ec))) return;
  std::string text;
  try {
    text = read_text_file(path_);
  } catch (const std::exception& e) {
    throw UsageError("--out", e.what());
  }
  exists_ = true;
  std::size_t pos = 0;
  bool header_seen = false;
  while (pos < text.size()) {
    const std::size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) break;  // cut short by a kill
    json line;
    try {
      line = json::parse(text.substr(pos, eol - pos));
    } catch (const json::parse_error&) {
      break;
    }
    if (!line.is_object()) break;
    if (!header_seen) {
      if (line.value(kHeaderKey, 0) != 1)
        throw UsageError("--out", "'" + path_.string() + "' is not a reproduce journal (move it away or choose another --out)");
      header_seen = true;
    } else if (line.contains("complete")) {
      complete_ = true;
    } else if (line.contains("run") && line.contains("outcome")) {
      records_.push_back(std::move(line));
      complete_ = false;
    } else {
      break;
    }
    pos = eol + 1;
    good_bytes_ = pos;
  }
  // The header is written atomically (never cut short), so a non-empty file without one is
  // something else, which is never overwritten.
  if (!header_seen && !text.empty())
    throw UsageError("--out", "'" + path_.string() + "' is not a reproduce journal (move it away or choose another --out)");
  if (!header_seen) exists_ = false;  // an empty file: nothing was recorded
}

RunJournal::~RunJournal() {
  if (fd_ >= 0) ::close(fd_);
}

const json* RunJournal::find(const std::string& id) const {
  for (auto it = records_.rbegin(); it != records_.rend(); ++it)
    if ((*it)["run"] == id) return &*it;
  return nullptr;
}

void RunJournal::start_fresh(const json& header) {
  json h = header;
  h[kHeaderKey] = 1;
  write_file_atomically(path_.string(), h.dump() + "\n");
  records_.clear();
  complete_ = false;
  exists_ = true;
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
  if (fd_ < 0) throw OutputError("cannot write '" + path_.string() + "': " + std::strerror(errno));
}

void RunJournal::continue_existing() {
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
  if (fd_ < 0) throw OutputError("cannot write '" + path_.string() + "': " + std::strerror(errno));
  // Appending after a partial line would glue two records together.
  if (::ftruncate(fd_, static_cast<off_t>(good_bytes_)) != 0)
    throw OutputError("cannot truncate '" + path_.string() + "' to its last complete record: " + std::strerror(errno));
}

void RunJournal::append(const json& record) {
  write_all_to_fd(fd_, record.dump() + "\n", path_.string());
  if (::fdatasync(fd_) != 0 && errno != EINVAL) throw OutputError("cannot sync '" + path_.string() + "': " + std::strerror(errno));
  records_.push_back(record);
}

void RunJournal::mark_complete(int exit_status) {
  write_all_to_fd(fd_, json{{"complete", true}, {"exit_status", exit_status}}.dump() + "\n", path_.string());
  ::fdatasync(fd_);
  complete_ = true;
}

}  // namespace attnbounds
