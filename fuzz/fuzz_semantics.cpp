// libFuzzer harness: format and semantics strings (--semantics, --format, --state-format).
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "numeric/format.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    attnbounds::parse_semantics(text);
  } catch (const std::invalid_argument&) {
  }
  try {
    attnbounds::parse_format(text);
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
