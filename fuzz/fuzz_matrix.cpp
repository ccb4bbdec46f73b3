// libFuzzer harness: cc matrix files.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "cc/cc.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    attnbounds::parse_matrix(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
