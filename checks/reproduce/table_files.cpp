#include "table_files.hpp"

#include "files.hpp"

namespace attnbounds {

std::vector<std::filesystem::path> write_table_files(const Table& t, const std::filesystem::path& dir,
                                                     const std::string* tidy_csv) {
  std::vector<std::filesystem::path> paths = {dir / (t.id + ".md"), dir / (t.id + ".csv"), dir / (t.id + ".tex"),
                                              dir / (t.id + "-float.tex")};
  write_text_file(paths[0], render_markdown(t));
  write_text_file(paths[1], tidy_csv ? *tidy_csv : render_csv(t));
  write_text_file(paths[2], render_latex(t));
  write_text_file(paths[3], render_latex_float(t));
  return paths;
}

}  // namespace attnbounds
