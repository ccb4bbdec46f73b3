// libFuzzer harness: fc-rank weight files (read through a temporary file, as the CLI does).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "proofs/theorem10_fc_rank.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/tmp/attnbounds_fuzz_weights_" + std::to_string(getpid()) + ".txt";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  try {
    (void)attnbounds::fc_rank::read_weights_file(path);
  } catch (const std::invalid_argument&) {  // ConfigError("weights", ...)
  }
  return 0;
}
