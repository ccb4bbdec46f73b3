// Layers point one way: the library (src/, proofs/) knows nothing of the command line or of the
// result JSON.  Scans every library source for includes of the application's headers, of
// nlohmann-json, and for string literals naming a flag.
#include <catch2/catch.hpp>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

// Files allowed to include nlohmann-json: readers and writers of documented file formats (a
// certificate, a safetensors header, a checkpoint journal, bounded JSON input), never results.
const std::set<std::string> kFileFormatParsers = {
    "src/certify/replay.cpp", "src/certify/certificate_reader.cpp", "src/core/input_file.hpp",
    "src/enumerate/journal.cpp", "src/modelfile/safetensors.cpp", "src/modelfile/safetensors.hpp"};

// Files not converted yet.  KNOWN EXCEPTIONS, to be removed from this list as they are
// converted; a file listed here that no longer offends fails the test too, so the list cannot
// go stale.
const std::set<std::string> kKnownExceptions = {};

// A string literal that starts with a flag ("--q: ..."): only the application knows flag names.
bool names_a_flag(const std::string& line) {
  for (std::size_t at = line.find("\"--"); at != std::string::npos; at = line.find("\"--", at + 1))
    if (at + 3 < line.size() && std::isalpha(static_cast<unsigned char>(line[at + 3]))) return true;
  return false;
}

// The application's headers, the JSON library outside the certificate parser, flag names.
bool offends(const std::string& line, const std::string& rel) {
  if (names_a_flag(line)) return true;
  if (line.find("#include") == std::string::npos) return false;
  if (line.find("\"checks/") != std::string::npos || line.find("\"cli/") != std::string::npos ||
      line.find("\"report/") != std::string::npos)
    return true;
  return line.find("nlohmann/json") != std::string::npos && !kFileFormatParsers.count(rel);
}

}  // namespace

TEST_CASE("layering: no library file includes cli/ or report/ headers or names a flag", "[layering]") {
  const fs::path root = ATTNBOUNDS_SOURCE_DIR;
  std::vector<std::string> offenders, stale;
  std::set<std::string> seen;
  for (const char* dir : {"src", "proofs"}) {
    for (const auto& entry : fs::recursive_directory_iterator(root / dir)) {
      if (!entry.is_regular_file()) continue;
      const std::string rel = fs::relative(entry.path(), root).generic_string();
      std::ifstream in(entry.path());
      std::string line;
      bool bad = false;
      while (std::getline(in, line)) bad = bad || offends(line, rel);
      seen.insert(rel);
      if (bad && !kKnownExceptions.count(rel)) offenders.push_back(rel);
      if (!bad && kKnownExceptions.count(rel)) stale.push_back(rel);
    }
  }
  INFO("library files including application headers: " << Catch::Detail::stringify(offenders));
  CHECK(offenders.empty());
  INFO("known exceptions that no longer include them (remove from the list): " << Catch::Detail::stringify(stale));
  CHECK(stale.empty());
  CHECK(seen.size() > 20);  // the scan found the library
}
