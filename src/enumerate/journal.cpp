#include "enumerate/journal.hpp"

#include "core/atomic_file.hpp"
#include "core/config_error.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
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


std::string header_line(const std::string& run) {
  return "attnbounds-journal 2 " + hex64(fnv1a64(run)) + " " + run + "\n";
}

// "<body> <check>" -> body, or nullopt when the check does not match.
std::optional<std::string> checked_body(const std::string& line) {
  const std::size_t sp = line.rfind(' ');
  if (sp == std::string::npos) return std::nullopt;
  std::string body = line.substr(0, sp);
  if (line.substr(sp + 1) != hex64(fnv1a64(body))) return std::nullopt;
  return body;
}

std::optional<std::uint64_t> parse_u64(const std::string& text) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 19) return std::nullopt;
  return std::stoull(text);
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
    : path_(std::move(path)), run_(std::move(run)), sync_seconds_(sync_seconds) {
  for (char& ch : run_)
    if (ch == '\n' || ch == '\r') ch = ' ';
  const std::string header = header_line(run_);
  std::ifstream in(path_, std::ios::binary);
  std::uint64_t good_bytes = 0;
  bool fresh = !in;
  if (fresh && must_exist) throw ConfigError("resume", "cannot read journal '" + path_ + "'");
  if (!fresh) {
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.empty() && !must_exist) {
      fresh = true;
    } else {
      if (text.compare(0, header.size(), header) != 0) {
        const std::size_t eol = text.find('\n');
        throw ConfigError(must_exist ? "resume" : "journal",
                          "'" + path_ + "' belongs to another run (its header: " +
                              text.substr(0, std::min<std::size_t>(eol, 200)) + ")");
      }
      good_bytes = header.size();
      std::size_t pos = header.size();
      while (pos < text.size()) {
        const std::size_t eol = text.find('\n', pos);
        if (eol == std::string::npos) break;  // cut short by a kill: dropped
        const auto body = checked_body(text.substr(pos, eol - pos));
        if (!body) break;  // damaged: this and later records dropped
        std::istringstream fields(*body);
        std::string first;
        fields >> first;
        if (first == "reduction") {
          std::string r, n, size;
          fields >> r >> n >> size;
          const auto rr = parse_u64(r), nn = parse_u64(n), ss = parse_u64(size);
          if (!rr || !nn || !ss) break;
          chunking_[*rr] = {*nn, *ss};
        } else {
          const std::size_t dot = first.find('.'), sp = body->find(' ');
          if (dot == std::string::npos || sp == std::string::npos) break;
          const auto r = parse_u64(first.substr(0, dot)), c = parse_u64(first.substr(dot + 1));
          if (!r || !c) break;
          auto it = chunking_.find(*r);
          if (it == chunking_.end() || *c >= it->second.first) break;
          done_[{*r, *c}] = body->substr(sp + 1);
        }
        pos = eol + 1;
        good_bytes = pos;
      }
    }
  }
  fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ < 0) throw ConfigError(must_exist ? "resume" : "journal", "cannot write '" + path_ + "': " + std::strerror(errno));
  if (fresh) {
    if (::ftruncate(fd_, 0) != 0) throw ConfigError("journal", "cannot truncate '" + path_ + "'");
    write_all_to_fd(fd_, header, path_);
  } else if (::ftruncate(fd_, static_cast<off_t>(good_bytes)) != 0) {
    throw ConfigError("journal", "cannot truncate '" + path_ + "' to its last complete record");
  }
  ::fsync(fd_);
  last_sync_ = now_seconds();
}

ChunkJournal::~ChunkJournal() {
  if (fd_ >= 0) {
    ::fsync(fd_);
    ::close(fd_);
  }
}

void ChunkJournal::append(const std::string& body) {
  write_all_to_fd(fd_, body + " " + hex64(fnv1a64(body)) + "\n", path_);
  const double t = now_seconds();
  if (t - last_sync_ >= sync_seconds_) {
    ::fdatasync(fd_);
    last_sync_ = t;
  }
}

void ChunkJournal::begin(std::uint64_t nchunks, std::uint64_t chunk_size) {
  current_ = next_reduction_++;
  auto it = chunking_.find(current_);
  if (it == chunking_.end()) {
    chunking_[current_] = {nchunks, chunk_size};
    append("reduction " + std::to_string(current_) + " " + std::to_string(nchunks) + " " + std::to_string(chunk_size));
  } else if (it->second != std::make_pair(nchunks, chunk_size)) {
    throw ConfigError("journal", "'" + path_ + "': reduction " + std::to_string(current_) +
                                     " was recorded with another chunking (another build or run)");
  }
}

std::optional<std::string> ChunkJournal::known(std::uint64_t chunk) {
  auto it = done_.find({current_, chunk});
  if (it == done_.end()) return std::nullopt;
  ++resumed_;
  return it->second;
}

void ChunkJournal::completed(std::uint64_t chunk, const std::string& payload) {
  if (payload.find('\n') != std::string::npos) throw std::logic_error("journal: a payload must be one line");
  append(std::to_string(current_) + "." + std::to_string(chunk) + " " + payload);
  ++written_;
  if (kill_after_ > 0 && written_ >= kill_after_) ::raise(SIGKILL);
}

}  // namespace attnbounds
