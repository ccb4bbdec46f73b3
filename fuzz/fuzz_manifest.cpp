// libFuzzer harness: reproduce manifests (bounded JSON parse and full validation).
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "checks/usage_error.hpp"
#include "checks/reproduce/manifest.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    attnbounds::parse_manifest_text(std::string(reinterpret_cast<const char*>(data), size), "fuzz input");
  } catch (const attnbounds::UsageError&) {
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
