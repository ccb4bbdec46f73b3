// Small file helpers shared by the report writers.
#pragma once
#include <filesystem>
#include <string>

namespace attnbounds {

// Writes `content` to `path` (creating parent directories) through a temporary file renamed when
// complete; throws OutputError naming the path on failure.
void write_text_file(const std::filesystem::path& path, const std::string& content);
// Writes a sibling temporary file and renames it over `path`, so a reader (or an interrupted
// run) sees either the old or the new content, never a half-written file.
void write_text_file_atomically(const std::filesystem::path& path, const std::string& content);
// Reads a whole regular file of at most 256 MiB; throws std::runtime_error naming the path when
// it cannot be read (FIFOs and devices are refused without blocking).
std::string read_text_file(const std::filesystem::path& path);

}  // namespace attnbounds
