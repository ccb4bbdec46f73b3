#include "files.hpp"

#include <stdexcept>

#include "core/atomic_file.hpp"
#include "core/input_file.hpp"

namespace attnbounds {

void write_text_file(const std::filesystem::path& path, const std::string& content) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  write_file_atomically(path.string(), content);  // complete or absent, never half-written
}

void write_text_file_atomically(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  write_text_file(tmp, content);
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp);
    throw std::runtime_error("cannot replace " + path.string() + ": " + ec.message());
  }
}

std::string read_text_file(const std::filesystem::path& path) {
  try {
    return read_bounded_file(path.string(), kMaxTextInputBytes);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(e.what());
  }
}

}  // namespace attnbounds
