// libFuzzer harness: cc matrix files (the text read_matrix_file hands to parse_matrix); a bad
// matrix is refused with ConfigError, a std::invalid_argument.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "cc/cc.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    attnbounds::cc::parse_matrix(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
