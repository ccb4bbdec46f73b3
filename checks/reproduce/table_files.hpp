// The files of one reproduce table: Markdown, CSV and LaTeX (fragment and float).
#pragma once
#include <filesystem>
#include <string>
#include <vector>

#include "checks/tables.hpp"

namespace attnbounds {

// Writes dir/<id>.md, dir/<id>.tex (fragment), dir/<id>-float.tex and, unless `tidy_csv` is
// given, dir/<id>.csv from the display rows; returns the paths.
std::vector<std::filesystem::path> write_table_files(const Table& t, const std::filesystem::path& dir,
                                                     const std::string* tidy_csv = nullptr);

}  // namespace attnbounds
