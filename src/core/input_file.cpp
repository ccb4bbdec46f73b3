#include "core/input_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace attnbounds {

namespace {

struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string human_bytes(std::uint64_t n) {
  if (n >= (std::uint64_t{1} << 30)) return std::to_string(n >> 30) + " GiB";
  if (n >= (std::uint64_t{1} << 20)) return std::to_string(n >> 20) + " MiB";
  return std::to_string(n) + " bytes";
}

// Opens without blocking and checks the kind and size of what was opened (not of what the name
// pointed to a moment earlier).
void open_checked(Fd& f, const std::string& path, std::uint64_t max_bytes) {
  if (path.empty()) throw std::invalid_argument("an input file name is empty");
  f.fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (f.fd < 0)
    throw std::invalid_argument("cannot read '" + path + "' (" + std::strerror(errno) + ")");
  struct stat st {};
  if (::fstat(f.fd, &st) != 0)
    throw std::invalid_argument("cannot read '" + path + "' (" + std::strerror(errno) + ")");
  if (S_ISDIR(st.st_mode)) throw std::invalid_argument("'" + path + "' is a directory, not a file");
  if (!S_ISREG(st.st_mode))
    throw std::invalid_argument("'" + path + "' is not a regular file (a FIFO, socket or device is refused)");
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes)
    throw std::invalid_argument("'" + path + "' is " + human_bytes(static_cast<std::uint64_t>(st.st_size)) +
                                ", more than the limit of " + human_bytes(max_bytes));
}

}  // namespace

void require_regular_input(const std::string& path, std::uint64_t max_bytes) {
  Fd f;
  open_checked(f, path, max_bytes);
}

std::string read_bounded_file(const std::string& path, std::uint64_t max_bytes) {
  Fd f;
  open_checked(f, path, max_bytes);
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t got = ::read(f.fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw std::invalid_argument("cannot read '" + path + "' (" + std::strerror(errno) + ")");
    if (got == 0) break;
    out.append(buf, static_cast<std::size_t>(got));
    if (out.size() > max_bytes)
      throw std::invalid_argument("'" + path + "' grew past the limit of " + human_bytes(max_bytes) + " while read");
  }
  return out;
}

nlohmann::json parse_json_bounded(const std::string& text, const std::string& origin, int max_depth) {
  bool too_deep = false;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text, [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
      if ((event == nlohmann::json::parse_event_t::object_start || event == nlohmann::json::parse_event_t::array_start) &&
          depth >= max_depth) {
        too_deep = true;
        throw std::invalid_argument("");
      }
      return true;
    });
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(origin + " is not valid JSON: " + e.what());
  } catch (const std::invalid_argument&) {
    if (!too_deep) throw;
  }
  if (too_deep)
    throw std::invalid_argument(origin + " nests objects or arrays more than " + std::to_string(max_depth) + " deep");
  return j;
}

}  // namespace attnbounds
