// libFuzzer harness: regress baselines (bounded JSON parse and validation).
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "checks/usage_error.hpp"
#include "core/input_file.hpp"
#include "checks/reproduce/regress.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    auto doc = attnbounds::parse_json_bounded(std::string(reinterpret_cast<const char*>(data), size), "fuzz input");
    attnbounds::parse_baseline(doc, "fuzz.json");
  } catch (const attnbounds::UsageError&) {
  } catch (const std::invalid_argument&) {
  }
  return 0;
}
