#include "core/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace attnbounds {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what, int err) {
  throw OutputError("cannot write '" + path + "': " + what + (err ? std::string(" (") + std::strerror(err) + ")" : ""));
}

std::string directory_of(const std::string& path) {
  std::size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string name_of(const std::string& path) {
  std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

void sync_path(const std::string& path, int flags, const std::string& shown) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) fail(shown, "reopening to sync", errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  // Directories on some file systems do not support fsync; the data file's sync is what matters.
  if (rc != 0 && !(flags & O_DIRECTORY && (err == EINVAL || err == ENOTSUP))) fail(shown, "fsync", err);
}

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  if (path_.empty()) throw OutputError("cannot write a file with an empty name");
  if (path_.back() == '/') fail(path_, "the name ends in '/', not a file name", 0);
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) fail(path_, "it is a directory", 0);
    in_place_ = !S_ISREG(st.st_mode);
  }
  if (in_place_) {
    out_.open(path_, std::ios::binary | std::ios::out);
    if (!out_) fail(path_, "open", errno);
    return;
  }
  std::string templ = directory_of(path_) + "/." + name_of(path_) + ".partial-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  int fd = ::mkostemp(buf.data(), O_CLOEXEC);
  if (fd < 0) fail(path_, "creating a temporary file in " + directory_of(path_), errno);
  ::close(fd);
  temp_ = buf.data();
  out_.open(temp_, std::ios::binary | std::ios::out | std::ios::trunc);
  if (!out_) {
    int err = errno;
    ::unlink(temp_.c_str());
    fail(path_, "open", err);
  }
}

AtomicFile::~AtomicFile() {
  if (committed_) return;
  out_.close();
  if (!temp_.empty()) ::unlink(temp_.c_str());
}

void AtomicFile::commit() {
  if (committed_) return;
  errno = 0;
  out_.flush();
  if (!out_) fail(path_, errno ? "write" : "the data could not be written completely (a full disk or device?)", errno);
  out_.close();
  if (!out_) fail(path_, "close", errno);
  if (in_place_) {
    committed_ = true;
    return;
  }
  sync_path(temp_, O_RDONLY, path_);
  // mkostemp creates the file 0600; give it the mode an ordinary create would.
  mode_t mask = ::umask(0);
  ::umask(mask);
  if (::chmod(temp_.c_str(), 0666 & ~mask) != 0) fail(path_, "chmod", errno);
  if (::rename(temp_.c_str(), path_.c_str()) != 0) fail(path_, "rename from " + temp_, errno);
  committed_ = true;
  sync_path(directory_of(path_), O_RDONLY | O_DIRECTORY, path_);
}

void require_writable_output(const std::string& path) {
  if (path.empty()) throw OutputError("an output file name is empty");
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) fail(path, "it is a directory", 0);
    if (!S_ISREG(st.st_mode)) {
      if (::access(path.c_str(), W_OK) != 0) fail(path, "not writable", errno);
      return;
    }
  }
  const std::string dir = directory_of(path);
  if (::stat(dir.c_str(), &st) != 0) fail(path, "no directory " + dir, errno);
  if (!S_ISDIR(st.st_mode)) fail(path, dir + " is not a directory", 0);
  if (::access(dir.c_str(), W_OK | X_OK) != 0) fail(path, "directory " + dir + " is not writable", errno);
}

void write_file_atomically(const std::string& path, std::string_view content) {
  AtomicFile f(path);
  f.stream().write(content.data(), static_cast<std::streamsize>(content.size()));
  f.commit();
}

void write_all_to_fd(int fd, std::string_view text, const std::string& path) {
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw OutputError("cannot write '" + path + "': " + std::strerror(errno));
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace attnbounds
