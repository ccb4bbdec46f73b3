#include "core/safe_path.hpp"

namespace attnbounds {

bool is_safe_file_id(const std::string& id) {
  if (id.empty() || id.size() > 100) return false;
  auto plain = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!plain(id[0])) return false;
  for (char c : id)
    if (!plain(c) && c != '.' && c != '_' && c != '-') return false;
  return true;
}

bool is_contained_relative_path(const std::string& path) {
  if (path.empty() || path[0] == '/') return false;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    if (path.compare(start, slash - start, "..") == 0 && slash - start == 2) return false;
    start = slash + 1;
  }
  return true;
}

std::optional<std::filesystem::path> find_symlink_below(const std::filesystem::path& root) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return std::nullopt;
  for (fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (it->is_symlink(ec)) return it->path();
  }
  return std::nullopt;
}

}  // namespace attnbounds
