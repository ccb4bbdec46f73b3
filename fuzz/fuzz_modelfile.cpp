// libFuzzer harness for the model-file reader: any byte string must either parse into a model
// whose shapes match its header or be refused with a ModelFileError, never crash, hang or leak.
#include <cstddef>
#include <cstdint>

#include "modelfile/qsa_model.hpp"
#include "modelfile/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  attnbounds::ReadLimits limits;
  limits.max_elements = 1u << 16;  // keeps every run small; the limit logic is what is exercised
  try {
    attnbounds::SafetensorsFile f = attnbounds::parse_safetensors("fuzz", data, size, limits);
    attnbounds::QsaTableModel m = attnbounds::qsa_table_model_from("fuzz", f, 1u << 16);
    if (m.key_table.rows() != static_cast<std::size_t>(m.N)) __builtin_trap();
    (void)attnbounds::qsa_certifiable_structure_problem(m, true);
  } catch (const attnbounds::ModelFileError&) {
  }
  return 0;
}
