#include "enumerate/journal.hpp"

#include "core/config_error.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace attnbounds {

namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string hex64(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

void write_all(int fd, const std::string& text, const std::string& path) {
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("journal '" + path + "': write failed: " + std::strerror(errno));
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

std::string header_line(const std::string& run, std::uint64_t nchunks, std::uint64_t chunk_size) {
  return "attnbounds-journal 1 " + hex64(fnv1a64(run)) + " " + std::to_string(nchunks) + " " +
         std::to_string(chunk_size) + " " + run + "\n";
}

}  // namespace

std::uint64_t fnv1a64(const std::string& text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char ch : text) {
    h ^= ch;
    h *= 0x100000001b3ULL;
  }
  return h;
}

ChunkJournal::ChunkJournal(std::string path, std::string run, bool must_exist, double sync_seconds)
    : path_(std::move(path)), run_(std::move(run)), must_exist_(must_exist), sync_seconds_(sync_seconds) {
  for (char& ch : run_)
    if (ch == '\n' || ch == '\r') ch = ' ';
}

ChunkJournal::~ChunkJournal() {
  if (fd_ >= 0) {
    ::fsync(fd_);
    ::close(fd_);
  }
}

void ChunkJournal::begin(std::uint64_t nchunks, std::uint64_t chunk_size) {
  const std::string header = header_line(run_, nchunks, chunk_size);
  if (fd_ >= 0) {  // opened already (the caller checks the file before the run starts)
    if (header != opened_header_) throw std::logic_error("journal: the reduction's chunking changed");
    return;
  }
  opened_header_ = header;
  std::ifstream in(path_, std::ios::binary);
  std::uint64_t good_bytes = 0;
  bool fresh = !in;
  if (fresh && must_exist_) throw ConfigError("resume", "cannot read journal '" + path_ + "'");
  if (!fresh) {
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.empty() && !must_exist_) {
      fresh = true;
    } else {
      if (text.compare(0, header.size(), header) != 0) {
        const std::size_t eol = text.find('\n');
        throw ConfigError("journal", "'" + path_ + "' belongs to another run or chunking (its header: " +
                                    text.substr(0, std::min<std::size_t>(eol, 200)) + ")");
      }
      good_bytes = header.size();
      std::size_t pos = header.size();
      while (pos < text.size()) {
        const std::size_t eol = text.find('\n', pos);
        if (eol == std::string::npos) break;  // cut short by a kill: dropped
        const std::string line = text.substr(pos, eol - pos);
        const std::size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
        if (sp1 == std::string::npos || sp2 == sp1) break;
        const std::string body = line.substr(0, sp2);
        if (line.substr(sp2 + 1) != hex64(fnv1a64(body))) break;  // damaged: this and later records dropped
        std::uint64_t chunk = 0;
        try {
          chunk = std::stoull(line.substr(0, sp1));
        } catch (const std::exception&) {
          break;
        }
        if (chunk >= nchunks) break;
        done_[chunk] = line.substr(sp1 + 1, sp2 - sp1 - 1);
        pos = eol + 1;
        good_bytes = pos;
      }
    }
  }
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw ConfigError("journal", "cannot write '" + path_ + "': " + std::strerror(errno));
  if (fresh) {
    if (::ftruncate(fd_, 0) != 0) throw ConfigError("journal", "cannot truncate '" + path_ + "'");
    write_all(fd_, header, path_);
  } else if (::ftruncate(fd_, static_cast<off_t>(good_bytes)) != 0) {
    throw ConfigError("journal", "cannot truncate '" + path_ + "' to its last complete record");
  }
  ::fsync(fd_);
  resumed_ = done_.size();
  last_sync_ = now_seconds();
}

std::optional<std::string> ChunkJournal::known(std::uint64_t chunk) {
  auto it = done_.find(chunk);
  if (it == done_.end()) return std::nullopt;
  return it->second;
}

void ChunkJournal::completed(std::uint64_t chunk, const std::string& payload) {
  if (payload.find('\n') != std::string::npos) throw std::logic_error("journal: a payload must be one line");
  const std::string body = std::to_string(chunk) + " " + payload;
  write_all(fd_, body + " " + hex64(fnv1a64(body)) + "\n", path_);
  ++written_;
  const double t = now_seconds();
  if (t - last_sync_ >= sync_seconds_) {
    ::fdatasync(fd_);
    last_sync_ = t;
  }
  if (kill_after_ > 0 && written_ >= kill_after_) ::raise(SIGKILL);
}

}  // namespace attnbounds
