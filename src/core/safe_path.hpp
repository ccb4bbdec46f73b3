// Names that come from a manifest and become file names or path arguments below an output
// directory.  They can never reach outside it: no absolute path, no "..", and no symbolic link
// inside the directory is followed.
#pragma once
#include <filesystem>
#include <optional>
#include <string>

namespace attnbounds {

// 1..100 characters of [A-Za-z0-9._-], starting with a letter or digit: a plain file name
// (never absolute, never "." or "..", no '/').
bool is_safe_file_id(const std::string& id);
// A relative path without any ".." component (and not empty).
bool is_contained_relative_path(const std::string& path);
// The first symbolic link found below `root` (root itself excluded), if any; links are not
// followed while searching.
std::optional<std::filesystem::path> find_symlink_below(const std::filesystem::path& root);

}  // namespace attnbounds
