// libFuzzer harness for the model-file reader: any byte string must either parse into a model
// whose shapes match its header or be refused with a ModelFileError, never crash, hang or leak.
#include <cstddef>
#include <cstdint>

#include "modelfile/attention_unit_model.hpp"
#include "modelfile/match2_model.hpp"
#include "modelfile/match3_local_model.hpp"
#include "modelfile/match3_model.hpp"
#include "modelfile/qsa_model.hpp"
#include "modelfile/qsa_unit_model.hpp"
#include "modelfile/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  attnbounds::ReadLimits limits;
  limits.max_elements = 1u << 16;  // keeps every run small; the limit logic is what is exercised
  try {
    attnbounds::SafetensorsFile f = attnbounds::parse_safetensors("fuzz", data, size, limits);
    const std::string cls = f.metadata.count("class") ? f.metadata.at("class") : "";
    if (cls == "match2-table") {
      attnbounds::Match2TableModel m = attnbounds::match2_table_model_from("fuzz", f);
      if (m.query.size() != static_cast<std::size_t>(m.M) * m.k) __builtin_trap();
      if (m.psi != attnbounds::Match2TableModel::Psi::Norm && m.psi_weights.size() != static_cast<std::size_t>(m.d))
        __builtin_trap();
    } else if (cls == "match3-third-order") {
      attnbounds::Match3ThirdOrderModel m = attnbounds::match3_third_order_model_from("fuzz", f);
      if (m.psi_table.size() != static_cast<std::size_t>(m.M) * m.d) __builtin_trap();
    } else if (cls == "attention-unit") {
      attnbounds::AttentionUnitModel m = attnbounds::attention_unit_model_from("fuzz", f);
      if (m.phi.empty() || m.heads.empty() || m.phi.front().weight.size() != static_cast<std::size_t>(m.phi.front().in) * m.phi.front().out)
        __builtin_trap();
      if (m.psi == attnbounds::AttentionUnitModel::Psi::Mlp && m.psi_mlp.back().out != 1) __builtin_trap();
    } else if (cls == "qsa-unit") {
      attnbounds::QsaUnitModel m = attnbounds::qsa_unit_model_from("fuzz", f);
      if (m.value_map.cols() != static_cast<std::size_t>(m.d) || m.output_map.rows() != static_cast<std::size_t>(m.d) ||
          m.output_map.cols() != m.value_map.rows())
        __builtin_trap();
      if (m.key_is_table ? m.key_table.cols() != static_cast<std::size_t>(m.k()) : m.key_mlp.back().out != m.k())
        __builtin_trap();
      (void)m.scalar();
      (void)m.rows();
    } else if (cls == "match3-local") {
      attnbounds::Match3LocalModel m = attnbounds::match3_local_model_from("fuzz", f, 1u << 16);
      if (m.keys.size() != static_cast<std::size_t>(m.N) * m.K) __builtin_trap();
      if (m.queries.size() != m.query_rows() * m.K || m.values.size() != static_cast<std::size_t>(m.M) * m.q) __builtin_trap();
    } else {
      attnbounds::QsaTableModel m = attnbounds::qsa_table_model_from("fuzz", f, 1u << 16);
      if (m.key_table.rows() != static_cast<std::size_t>(m.N)) __builtin_trap();
      (void)attnbounds::qsa_certifiable_structure_problem(m, true);
    }
  } catch (const attnbounds::ModelFileError&) {
  }
  return 0;
}
