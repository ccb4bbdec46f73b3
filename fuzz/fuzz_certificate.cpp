// libFuzzer harness: the strict certificate reader (replay's schema check).
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>

#include "certify/certificate_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  try {
    attnbounds::read_qsa_certificate(in);
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
